"""Run one folder of the store to completion: the function every backend calls, once per run.

A try loads `run.yaml`, calls `trainer.train.train` (resuming from the run's newest complete
checkpoint when it has one, so a killed or preempted run loses at most `checkpoint.every_steps`
steps), and records `result.json`. A try that raises, or ends with a non-finite
bits-per-byte (a diverged run), is recorded with its reason; the run is tried again until
`max_attempts` tries have failed and then marked failed. A try cut short by a killed search or
a preempted job is recorded as interrupted and does not count as a failure. Failures are never scores: `result.json` is written
only by a try that succeeded.
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path

from trainer.search.store import read_state, write_json, write_state


class RunDiverged(Exception):
    """The run finished with a non-finite validation score."""


def execute_run(folder: str | Path, max_attempts: int) -> str:
    """Bring the run at `folder` to done or failed; return its final status."""
    folder = Path(folder)
    state = read_state(folder)
    if state.status == "running":  # the previous try never ended: the search or its worker was stopped
        state.history.append(f"try {state.attempts}: interrupted")
    while state.status not in ("done", "failed"):
        state.status, state.attempts = "running", state.attempts + 1
        state.host, state.pid = socket.gethostname(), os.getpid()
        write_state(folder, state)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            on_gpu = _try_run(folder)
            outcome = None
        except Exception as err:  # any failure of a try is recorded, then retried or final
            outcome = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            on_gpu = False
        state.wall_seconds += time.perf_counter() - wall
        state.device_seconds += time.perf_counter() - wall if on_gpu else time.process_time() - cpu
        state.history.append(f"try {state.attempts}: {outcome or 'done'}")
        if outcome is None:
            state.status, state.failure = "done", None
        else:
            state.failure, state.failures = outcome, state.failures + 1
            state.status = "failed" if state.failures >= max_attempts else "queued"
        write_state(folder, state)
    return state.status


def _try_run(folder: Path) -> bool:
    """One try; returns whether it ran on a GPU. torch is imported here, in the worker process."""
    from trainer.config import load_train_config
    from trainer.metrics import read_jsonl
    from trainer.train import train

    config = load_train_config(folder / "run.yaml")
    results = train(config, resume=True)  # from the newest complete checkpoint, or from scratch
    bpb = {name: result.bits_per_byte for name, result in results.items()}
    bad = [name for name, value in bpb.items() if not math.isfinite(value)]
    if bad:
        raise RunDiverged(f"bits-per-byte of {', '.join(bad)} is not finite")
    last_train = [row for row in read_jsonl(folder / "metrics.jsonl") if row["kind"] == "train"][-1]
    se = {name: result.bits_per_byte_se for name, result in results.items()}
    write_json(folder / "result.json", {"bits_per_byte": bpb, "bits_per_byte_se": se,
                                        "tokens": sum(last_train["tokens"].values()),
                                        "tokens_per_source": last_train["tokens"], "steps": config.max_steps})
    import torch

    return torch.cuda.is_available() and config.device != "cpu"
