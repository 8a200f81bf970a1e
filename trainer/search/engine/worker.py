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
"""

from __future__ import annotations

import math
import os
import signal
import socket
import time
from pathlib import Path

from trainer.search.engine.layout import RESULT, RUN_CONFIG
from trainer.search.engine.locks import RunLease
from trainer.search.engine.store import RunState, read_state, write_json, write_state


class RunDiverged(Exception):
    """The run finished with a non-finite validation score."""


def execute_run(folder: str | Path, max_attempts: int) -> str:
    """Bring the run at `folder` to done or failed; return its final status."""
    folder = Path(folder)
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

    found = step_folders(folder / "checkpoints")
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


def _try_run(folder: Path) -> bool:
    """One try; returns whether it ran on a GPU. torch is imported here, in the worker process."""
    from trainer.config import load_train_config
    from trainer.metrics import read_jsonl
    from trainer.train import train

    config = load_train_config(folder / RUN_CONFIG)
    results = train(config, resume=True)  # from the newest complete checkpoint, or from scratch
    bpb = {name: result.bits_per_byte for name, result in results.items()}
    bad = [name for name, value in bpb.items() if not math.isfinite(value)]
    if bad:
        raise RunDiverged(f"bits-per-byte of {', '.join(bad)} is not finite")
    last_train = [row for row in read_jsonl(folder / "metrics.jsonl") if row["kind"] == "train"][-1]
    se = {name: result.bits_per_byte_se for name, result in results.items()}
    write_json(folder / RESULT, {"bits_per_byte": bpb, "bits_per_byte_se": se,
                                 "tokens": sum(last_train["tokens"].values()),
                                 "tokens_per_source": last_train["tokens"], "steps": config.max_steps})
    import torch

    return torch.cuda.is_available() and config.device != "cpu"
