"""The run store: one folder per proxy run, and a results table rebuilt from the folders.

    runs/<run>/spec.json     what the run is: mixture name, weights, seed, labels
    runs/<run>/run.yaml      the resolved train config (`dataflow train --config` runs it by hand)
    runs/<run>/mixture.yaml  the run's mixture file
    runs/<run>/status.json   queued | running | done | failed, attempts, failure reason, seconds
    runs/<run>/result.json   bits-per-byte per evaluated dataset, tokens (written when done)
    runs/<run>/...           the trainer's own files: config.yaml, metrics.jsonl, events.jsonl, checkpoints/

`results.parquet` is derived: `write_table` rebuilds it from the folders every time, so it can
never disagree with them. Every file is written durably through `dataflow/atomic.py` (a temporary
name unique to its writer, fsynced, renamed, the rename fsynced too), so a search killed at any
moment, or a power cut, leaves each file either old or new, never half-written. `layout.py` names
every file. A folder whose spec.json or status.json cannot be read anyway (written by an older
version, damaged by hand) is reported with its path and left out of the table and of the queue,
never fatal to the search.

The folder may be a prefix of an object store (`out_dir: s3://bucket/search`, any fsspec store):
the root is then a `StorePath` and the same files are objects, each written whole with one PUT
(S3 has no rename; `dataflow/atomic.py` uploads instead). Such a run trains in a local scratch
folder with its checkpoints on the store (worker.py), and the lock is an object (locks.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from dataflow.atomic import replacing, write_text
from dataflow.errors import ConfigError
from dataflow.object_store import StorePath, as_path
from trainer.search.engine.layout import RESULT, RUN_CONFIG, RUN_MIXTURE, RUNS_DIR, SPEC, STATUS, TABLE

log = logging.getLogger("trainer.search")
Status = Literal["queued", "running", "done", "failed"]


@dataclass(frozen=True)
class RunSpec:
    """One proxy run: a train config (as a mapping) and the mixture it trains on."""

    run_id: str
    """Folder name under runs/: `<mixture>-s<seed>`."""
    mixture: str
    """Name of the mixture (a candidate `c007`, or `natural`, `uniform`, `predicted`)."""
    weights: dict[str, float]
    """Share of each source, summing to 1."""
    seed: int
    """Seed of the weights and of the data order."""
    train: dict[str, Any]
    """The run config, without out_dir and data.mixture (the store sets them to the folder)."""
    mixture_file: dict[str, Any]
    """The mixture file, weights included."""
    labels: tuple[str, ...] = ()
    """Roles in the search (`candidate`, `natural`, `uniform`, `best-sampled`, `predicted`)."""


@dataclass
class RunState:
    status: Status = "queued"
    attempts: int = 0
    """Tries started so far, interrupted ones (a killed search, a preempted job) included."""
    failures: int = 0
    """Tries that raised or diverged; the run is failed when they reach max_attempts."""
    failure: str | None = None
    """Reason of the last failed try (kept when a retry succeeds, cleared only by success)."""
    wall_seconds: float = 0.0
    """Wall time of all tries together."""
    device_seconds: float = 0.0
    """Time the run held its device: GPU wall time, or CPU time of its process on CPU."""
    host: str | None = None
    pid: int | None = None
    history: list[str] = field(default_factory=list)
    """One line per try: how it ended (done, the exception, or the exit code or signal of a lost worker)."""
    start_step: int = 0
    """Checkpoint step the latest try started from (0: from scratch)."""
    failed_from: int | None = None
    """Checkpoint step the last failed try started from: the same failure from the same step is final."""


class RunStore:
    def __init__(self, root: str | Path | StorePath):
        self.root = as_path(root)  # a local or shared folder, or a prefix of an object store
        self.runs = self.root / RUNS_DIR

    def add(self, spec: RunSpec) -> Path:
        """Create the run's folder, or merge labels into an existing one with the same spec; a stored run
        with the same id and another spec (weights, config) is refused, both specs shown."""
        folder = self.runs / spec.run_id
        if (folder / SPEC).is_file():
            old = read_spec(folder)
            if _without_labels(old) != _without_labels(spec):
                raise ConfigError(f"run {spec.run_id} in {self.runs} was stored with another spec: stored "
                                  f"{_differences(old, spec, 0)}, asked {_differences(old, spec, 1)}; "
                                  "use another out_dir, or delete that run folder to train the new spec")
            labels = tuple(dict.fromkeys(old.labels + spec.labels))
            if labels != old.labels:
                write_json(folder / SPEC, asdict(RunSpec(**{**asdict(old), "labels": labels})))
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / RUN_MIXTURE, yaml.safe_dump(spec.mixture_file, sort_keys=False), durable=True)
        train = {**spec.train, "out_dir": str(folder), "seed": spec.seed,
                 "data": {**spec.train.get("data", {}), "mixture": str(folder / RUN_MIXTURE)}}
        write_text(folder / RUN_CONFIG, yaml.safe_dump(train, sort_keys=False), durable=True)
        write_json(folder / STATUS, asdict(RunState()))
        write_json(folder / SPEC, asdict(spec))  # last: a folder counts once its spec is there
        return folder

    def folders(self) -> list[Path]:
        if not self.runs.is_dir():
            return []
        return sorted(path for path in self.runs.iterdir() if (path / SPEC).is_file())

    def unreadable(self) -> dict[Path, str]:
        """Run folders whose spec.json or status.json does not read back, with the reason."""
        found = {}
        for folder in self.folders():
            try:
                read_spec(folder), read_state(folder)
            except (OSError, ValueError, TypeError, KeyError) as err:
                found[folder] = f"{type(err).__name__}: {err}"
        return found

    def readable(self, folders: list[Path]) -> list[Path]:
        """`folders` without the unreadable ones, each reported once with its path."""
        bad = self.unreadable()
        for folder in folders:
            if folder in bad:
                log.warning("skipping run folder %s: it does not read back (%s); delete it to rerun the run",
                            folder, bad[folder])
        return [folder for folder in folders if folder not in bad]

    def unfinished(self, folders: list[Path]) -> list[Path]:
        """Folders not done and not failed: queued, or running when the search was killed."""
        return [folder for folder in self.readable(folders) if read_state(folder).status in ("queued", "running")]

    def requeue_failed(self) -> list[str]:
        """Put every failed run back in the queue with a fresh count of failures (`--retry-failed`)."""
        requeued = []
        for folder in self.readable(self.folders()):
            state = read_state(folder)
            if state.status == "failed":
                state.status, state.failures, state.failed_from = "queued", 0, None
                state.history.append("requeued by --retry-failed")
                write_state(folder, state)
                requeued.append(folder.name)
        return requeued

    def rows(self, target_weights: dict[str, float]) -> list[dict[str, Any]]:
        """One row per readable run folder; the target is the weighted bits-per-byte, only for done runs."""
        rows = [run_row(folder, target_weights) for folder in self.readable(self.folders())]
        columns = list(dict.fromkeys(key for row in rows for key in row))  # failed runs have no bpb_ columns
        return [{key: row.get(key) for key in columns} for row in rows]

    def write_table(self, target_weights: dict[str, float]) -> pa.Table:
        table = pa.Table.from_pylist(self.rows(target_weights))
        with replacing(self.root / TABLE, durable=True) as temporary:
            pq.write_table(table, temporary)
        return table


def weights_id(weights: dict[str, float]) -> str:
    """Eight hex digits naming a mixture's weights (sha256 of their JSON, sources sorted)."""
    return hashlib.sha256(json.dumps(weights, sort_keys=True).encode()).hexdigest()[:8]


def run_row(folder: Path, target_weights: dict[str, float]) -> dict[str, Any]:
    spec, state = read_spec(folder), read_state(folder)
    result = read_json(folder / RESULT) if state.status == "done" else {}
    bpb, se = result.get("bits_per_byte", {}), result.get("bits_per_byte_se", {})
    total = sum(target_weights.values())
    scored = bpb and all(name in bpb for name in target_weights)
    score = sum(weight * bpb[name] for name, weight in target_weights.items()) / total if scored else None
    # The target's datasets are scored on different text, so their errors add in quadrature.
    score_se = (math.sqrt(sum((weight / total * se[name]) ** 2 for name, weight in target_weights.items()))
                if scored and all(name in se for name in target_weights) else None)
    return {"run": spec.run_id, "mixture": spec.mixture, "labels": ",".join(spec.labels), "seed": spec.seed,
            "status": state.status, "attempts": state.attempts, "target": score, "target_se": score_se,
            **{f"w_{name}": weight for name, weight in spec.weights.items()},
            **{f"bpb_{name}": value for name, value in bpb.items()},
            **{f"se_{name}": value for name, value in se.items()},
            "tokens": result.get("tokens"), "wall_seconds": state.wall_seconds,
            "device_seconds": state.device_seconds, "failure": state.failure if state.status == "failed" else None}


def live_status(folder: Path) -> str:
    """The run's status, with `interrupted` for a run marked running whose process on this host is gone."""
    state = read_state(folder)
    if state.status == "running" and state.host == socket.gethostname() and not process_alive(state.pid):
        return "interrupted"
    return state.status


def process_alive(pid: int | None) -> bool:
    """Whether `pid` runs on this host; a killed process left as a zombie until reaped counts as gone."""
    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def read_spec(folder: Path) -> RunSpec:
    data = read_json(folder / SPEC)
    return RunSpec(**{**data, "labels": tuple(data["labels"])})


def read_state(folder: Path) -> RunState:
    return RunState(**read_json(folder / STATUS))


def write_state(folder: Path, state: RunState) -> None:
    write_json(folder / STATUS, asdict(state))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Write `data` as JSON, durably: readers see the old or the new file, whole, even after a power cut."""
    write_text(path, json.dumps(data, indent=1, sort_keys=False), durable=True)


def _without_labels(spec: RunSpec) -> dict[str, Any]:
    return json.loads(json.dumps({**asdict(spec), "labels": None}))  # tuples and lists compare alike


def _differences(old: RunSpec, new: RunSpec, side: int) -> str:
    """The fields (and for weights, the sources) where two specs differ, from one side."""
    a, b = _without_labels(old), _without_labels(new)
    keys = [key for key in a if a[key] != b[key]]
    shown = {key: ({name: value for name, value in (a, b)[side][key].items() if a[key].get(name) != b[key].get(name)}
                   if key == "weights" else (a, b)[side][key]) for key in keys}
    return json.dumps(shown, sort_keys=True)
