"""Run one folder of the store to completion: the function every backend calls, once per run.

A try loads `run.yaml`, calls `trainer.train.train` (resuming from the run's newest complete
checkpoint when it has one, so a killed or preempted run loses at most `checkpoint.every_steps`
steps), and records `result.json`. Every try leaves one line in status.json's history saying how
it ended: done, the exception it raised, or (written by the backend, which outlives it) the exit
code or signal of a worker process that died under it (the OOM killer's SIGKILL, a lost Spark
executor, a Slurm job ended by the scheduler). Such failed tries count toward `max_attempts`;
then the run is failed. A try cut short because the whole search was killed is recorded as
interrupted on the next resume and does not count: nothing says the run caused it.

Failures are never scores: `result.json` is written only by a try that succeeded.

A failure is not replayed identically. The trainer is deterministic: the same checkpoint, seed
and data order give the same steps, so a diverged try (the guard's `TrainingDiverged`, or a
non-finite score) would diverge again: it is final after its first try. It is not retried with a
changed recipe either (a lower learning rate, another seed), because the run would then no longer
be the experiment the search planned: an lr sweep would credit a score to the wrong rate, and a
mixture or variant comparison would compare runs of different recipes. Any other failure that
repeats with the same message from the same checkpoint step is final at once: a third identical
try cannot differ.

A run folder on an object store (`out_dir: s3://...`) is not a folder the trainer can write: each
try trains in a local scratch folder (`scratch_folder`, under the system's temporary folder, so
`TMPDIR` moves it) holding the run's config, mixture file and the logs of its earlier tries, with
its checkpoints written to and resumed from the run's `checkpoints/` on the store (the trainer's
`checkpoint.dir`). status.json is written to the store at every transition; the trainer's files
(metrics.jsonl, events.jsonl, config.yaml) are uploaded when the try ends, before result.json, and
the scratch folder is deleted, so a machine holds the scratch folders of the runs it trains now.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dataflow.object_store import FsspecFS, StorePath, as_path, download, upload
from trainer.search.engine.layout import LEASE, RESULT, RUN_CONFIG, RUN_MIXTURE, SPEC, STATUS
from trainer.search.engine.locks import RunLease
from trainer.search.engine.store import RunState, read_state, write_json, write_state

CHECKPOINTS = "checkpoints"
STORE_ONLY = (SPEC, STATUS, RESULT, LEASE, CHECKPOINTS)
"""What a run on a store reads and writes on the store itself, never through its scratch folder."""


class RunDiverged(Exception):
    """The run finished with a non-finite validation score."""


def execute_run(folder: str | Path, max_attempts: int) -> str:
    """Bring the run at `folder` (a path, or an object-store URL) to done or failed; return its final status."""
    folder = as_path(folder)
    with RunLease(folder):  # waits while a live worker (of a killed search, or a lost task) still trains it
        state = read_state(folder)
        if state.status == "running":  # the previous try never ended: the search or its worker was stopped
            state.history.append(f"try {state.attempts}: interrupted")
        while state.status not in ("done", "failed"):
            start_try(folder, state)
            wall, cpu = time.perf_counter(), time.process_time()
            diverged = False
            try:
                on_gpu = _try_run(folder)
                outcome = None
            except Exception as err:  # noqa: BLE001 - any failure of a try is recorded, then retried or final
                outcome = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
                on_gpu, diverged = False, _is_divergence(err)
            state.wall_seconds += time.perf_counter() - wall
            state.device_seconds += time.perf_counter() - wall if on_gpu else time.process_time() - cpu
            end_try(state, outcome, max_attempts, diverged=diverged)
            write_state(folder, state)
    return state.status


def start_try(folder: Path, state: RunState) -> None:
    """Mark a new try running, with where it starts from and who runs it."""
    from trainer.checkpoint import step_folders

    found = step_folders(folder / CHECKPOINTS)
    state.status, state.attempts = "running", state.attempts + 1
    state.host, state.pid, state.start_step = socket.gethostname(), os.getpid(), found[-1][0] if found else 0
    write_state(folder, state)


def end_try(state: RunState, outcome: str | None, max_attempts: int, *, diverged: bool = False) -> None:
    """Record how the try ended (`outcome` None: done) and whether the run goes on."""
    state.history.append(f"try {state.attempts}: {outcome or 'done'}")
    if outcome is None:
        state.status, state.failure = "done", None
        return
    repeated = state.failure == outcome and state.failed_from == state.start_step
    state.failure, state.failures, state.failed_from = outcome, state.failures + 1, state.start_step
    state.status = "failed" if state.failures >= max_attempts or diverged or repeated else "queued"
    if state.failures < max_attempts and diverged:
        state.history.append("diverged: not retried (a retry replays the same checkpoint, seed and data order)")
    elif state.failures < max_attempts and repeated:
        state.history.append("the same failure from the same checkpoint twice: not retried")


def record_lost_try(folder: Path, how: str, max_attempts: int) -> str:
    """Record a try whose worker died under it (`how`: the exit code or signal, as the backend saw it);
    return the run's status after it. A worker that died before starting its try still costs one."""
    state = read_state(folder)
    if state.status in ("done", "failed"):
        return state.status
    if state.status != "running":
        state.attempts += 1
    end_try(state, f"worker lost: {how}", max_attempts)
    write_state(folder, state)
    return state.status


def describe_exit(code: int) -> str:
    """`exit code 3`, or `killed by SIGKILL (signal 9)` for a negative code (multiprocessing's convention)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "an unknown signal"
    hint = " (the OOM killer, or kill -9)" if -code == signal.SIGKILL else ""
    return f"killed by {name} (signal {-code}){hint}"


def _is_divergence(err: Exception) -> bool:
    from trainer.train import TrainingDiverged

    return isinstance(err, (RunDiverged, TrainingDiverged))


def _try_run(folder: Path | StorePath) -> bool:
    """One try; returns whether it ran on a GPU. torch is imported here, in the worker process."""
    from trainer.config import load_train_config
    from trainer.metrics import read_jsonl
    from trainer.train import train

    with training_folder(folder) as (local, overrides):
        config = load_train_config(local / RUN_CONFIG, overrides)
        results = train(config, resume=True)  # from the newest complete checkpoint, or from scratch
        metrics = read_jsonl(local / "metrics.jsonl")
    bpb = {name: result.bits_per_byte for name, result in results.items()}
    bad = [name for name, value in bpb.items() if not math.isfinite(value)]
    if bad:
        raise RunDiverged(f"bits-per-byte of {', '.join(bad)} is not finite")
    last_train = [row for row in metrics if row["kind"] == "train"][-1]
    se = {name: result.bits_per_byte_se for name, result in results.items()}
    write_json(folder / RESULT, {"bits_per_byte": bpb, "bits_per_byte_se": se,
                                 "tokens": sum(last_train["tokens"].values()),
                                 "tokens_per_source": last_train["tokens"], "steps": config.max_steps})
    import torch

    return torch.cuda.is_available() and config.device != "cpu"


@contextmanager
def training_folder(folder: Path | StorePath) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Where a try trains, and what it changes in run.yaml: the run folder itself, as it is, on a local or
    shared disk; for a run on an object store, its scratch folder, with out_dir, the mixture file and the
    checkpoints redirected, and the trainer's files uploaded to the run folder when the try ends (done or
    not), before the scratch folder is deleted."""
    if not isinstance(folder, StorePath):
        yield folder, {}
        return
    scratch = scratch_folder(folder)
    shutil.rmtree(scratch, ignore_errors=True)  # left by a try of this run killed on this machine
    for name in FsspecFS().file_sizes(str(folder)):  # its config, mixture file and earlier tries' logs
        if name.split("/")[0] not in STORE_ONLY:
            download(str(folder / name), scratch / name)
    try:
        yield scratch, {"out_dir": str(scratch), "data": {"mixture": str(scratch / RUN_MIXTURE)},
                        "checkpoint": {"dir": str(folder / CHECKPOINTS)}}
    finally:
        for path in sorted(scratch.rglob("*")):
            name = path.relative_to(scratch).as_posix()
            if path.is_file() and name not in (RUN_CONFIG, RUN_MIXTURE) and name.split("/")[0] not in STORE_ONLY:
                upload(path, str(folder / name))
        shutil.rmtree(scratch, ignore_errors=True)


def scratch_folder(folder: StorePath) -> Path:
    """The local folder where this machine trains the store's run `folder`: one per run, under the system's
    temporary folder (TMPDIR), named by the run's URL."""
    return Path(tempfile.gettempdir(), "dataflow-search", hashlib.sha256(str(folder).encode()).hexdigest()[:16])
