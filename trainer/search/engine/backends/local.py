"""The local backend: worker processes over this machine's devices (the embedded default).

On GPUs each worker owns one device (`CUDA_VISIBLE_DEVICES` set before torch starts in it)
and runs one proxy at a time. On CPU, `workers` processes split the cores between them:
each sets `torch.set_num_threads(cores // workers)`, since two runs with all cores each
would fight over them. Workers are forked from multiprocessing's fork server, a clean process
that has imported torch and nothing else (no CUDA, no thread pools started), so each run starts
a fresh process without paying torch's import again, and the search's own state never leaks in.
A worker takes the search process's environment as it is when its run starts, not the fork server's
(started once, with the environment of then): credentials and a store's endpoint set since reach it.

Each run gets its own process, and the backend waits on each one by itself: a worker killed
under its run (the OOM killer, kill -9) ends only that run's try. The backend records the exit
code or signal in the run's status.json as one failed try (`worker.record_lost_try`), starts the
run again while it has tries left, and the other runs go on. (A process pool would instead break
as a whole, BrokenProcessPool, taking every run in flight with it and naming none of them.)
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import wait
from pathlib import Path

from trainer.search.engine.config import LocalBackend
from trainer.search.engine.store import read_state
from trainer.search.engine.worker import describe_exit, execute_run, record_lost_try


def run_local(folders: list[Path], backend: LocalBackend, *, max_attempts: int, progress=None) -> None:
    gpus = visible_gpus()
    workers = backend.workers or max(1, len(gpus))
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch"])
    free = [gpus[index % len(gpus)] if gpus else None for index in range(workers)]
    queue, running = list(folders), {}
    try:
        while queue or running:
            while queue and free:
                folder, device = queue.pop(0), free.pop()
                process = context.Process(target=_work, args=(str(folder), max_attempts, device, threads,
                                                              dict(os.environ)),
                                          name=f"run {folder.name}")
                process.start()
                running[process.sentinel] = (process, folder, device)
            for sentinel in wait(list(running)):
                process, folder, device = running.pop(sentinel)
                process.join()
                free.append(device)
                status = _ended(folder, process.exitcode, max_attempts)
                if status == "queued":  # its worker died and the run has tries left
                    queue.append(folder)
                elif progress:
                    progress(folder, status)
    finally:  # the search itself is stopping (an error, Ctrl-C): its workers stop with it
        for process, _, _ in running.values():
            process.terminate()
            process.join()


def _ended(folder: Path, exitcode: int, max_attempts: int) -> str:
    """The run's status once its worker exited; a worker that died mid-try is recorded as a failed try."""
    status = read_state(folder).status
    if exitcode == 0 or status in ("done", "failed"):
        return status
    return record_lost_try(folder, describe_exit(exitcode), max_attempts)


def _work(folder: str, max_attempts: int, device: str | None, threads: int, environment: dict[str, str]) -> None:
    os.environ.update(environment)
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device
    import torch

    torch.set_num_threads(threads)
    execute_run(folder, max_attempts)


def visible_gpus() -> list[str]:
    """GPU ids this process may use (as CUDA_VISIBLE_DEVICES names them), without initialising CUDA here."""
    import torch

    count = torch.cuda.device_count()
    named = [part for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if part.strip()]
    return named[:count] if named else [str(index) for index in range(count)]
