"""What every search does with the engine: claim its folder, then run lists of `RunSpec`s through the queue.

A search plans its runs as `RunSpec`s, hands them to `run_specs`, and reads the results table back
(`RunStore.write_table`); resuming, retrying and the backends are the same for every search kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import yaml

from dataflow.atomic import write_text
from dataflow.errors import ConfigError
from dataflow.object_store import as_path
from trainer.search.engine import backends
from trainer.search.engine.config import SearchConfig
from trainer.search.engine.layout import CONFIG_COPY
from trainer.search.engine.locks import lock_folder
from trainer.search.engine.store import RunSpec, RunStore

log = logging.getLogger("trainer.search")
Runner = Callable[[list[Path]], None]
"""Brings run folders of the store to done (writing each one's result.json, as `worker.execute_run` does)
or failed."""


def claim_folder(store: RunStore, config: SearchConfig, resume: bool, retry_failed: bool = False) -> None:
    """Lock the folder for this process (one writer), check it may be used, and requeue failed runs when asked.

    A resume compares the config with the folder's search.yaml as data, not as text, so a folder
    written when the fields came in another order resumes; fields a search declares ADDABLE_ON_RESUME
    may differ (`SearchConfig.planning_of` leaves them out of both)."""
    copy = store.root / CONFIG_COPY
    resolved = config.model_dump(mode="json")
    if retry_failed and not resume:
        raise ConfigError("--retry-failed reruns the failed runs of a search being resumed; pass --resume too")
    lock_folder(store.root)
    if store.folders() and not resume:
        raise ConfigError(f"out_dir {config.out_dir} already holds runs of a search; pass --resume to finish it, "
                          "or choose another out_dir")
    stored = yaml.safe_load(copy.read_text(encoding="utf-8")) if resume and copy.is_file() else None
    if stored is not None and config.planning_of(stored) != config.planning():
        raise ConfigError(f"--resume: the config differs from the one {config.out_dir} was started with "
                          f"({copy}); resume with that config, or choose another out_dir")
    write_text(copy, yaml.safe_dump(resolved, sort_keys=False), durable=True)
    if retry_failed:
        requeued = store.requeue_failed()
        log.info("--retry-failed: %d failed runs queued again%s", len(requeued),
                 f" ({', '.join(requeued)})" if requeued else "")


def retry_command(kind: str, out_dir: str | Path) -> str:
    """The command that reruns a search's failed runs: its own resolved config copy, resumed."""
    return f"dataflow search {kind} --config {as_path(out_dir) / CONFIG_COPY} --resume --retry-failed"


def run_specs(store: RunStore, config: SearchConfig, specs: list[RunSpec], what: str,
              runner: Runner | None = None) -> None:
    """Add `specs` to the store and bring the unfinished ones to done or failed, on `config.backend` or `runner`."""
    folders = list(dict.fromkeys(store.add(spec) for spec in specs))
    todo = store.unfinished(folders)
    if runner is not None:
        runner(todo)
        return
    log.info("%s: %d runs, %d to run on the %s backend", what, len(folders), len(todo), config.backend.kind)
    finished = iter(range(1, len(todo) + 1))

    def progress(folder: Path, status: str) -> None:
        log.info("[%d/%d] %s %s", next(finished), len(todo), folder.name, status)

    backends.run_all(todo, config.backend, max_attempts=config.max_attempts, work_dir=store.root, progress=progress)
