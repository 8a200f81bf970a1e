"""The local backend: a pool of worker processes over this machine's devices (the embedded default).

On GPUs each worker owns one device (`CUDA_VISIBLE_DEVICES` set before torch starts in it)
and runs one proxy at a time. On CPU, `workers` processes split the cores between them:
each sets `torch.set_num_threads(cores // workers)`, since two runs with all cores each
would fight over them. Workers are spawned (not forked), so each starts a clean torch.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from trainer.search.config import LocalBackend
from trainer.search.worker import execute_run


def run_local(folders: list[Path], backend: LocalBackend, *, max_attempts: int, progress=None) -> None:
    gpus = visible_gpus()
    workers = backend.workers or max(1, len(gpus))
    context = multiprocessing.get_context("spawn")
    devices = context.Queue()
    for index in range(workers):
        devices.put(gpus[index % len(gpus)] if gpus else None)
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(devices, threads)) as pool:
        futures = {pool.submit(execute_run, str(folder), max_attempts): folder for folder in folders}
        for future in as_completed(futures):
            status = future.result()
            if progress:
                progress(futures[future], status)


def _start_worker(devices, threads: int) -> None:
    device = devices.get()
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device
    import torch

    torch.set_num_threads(threads)


def visible_gpus() -> list[str]:
    """GPU ids this process may use (as CUDA_VISIBLE_DEVICES names them), without initialising CUDA here."""
    import torch

    count = torch.cuda.device_count()
    named = [part for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if part.strip()]
    return named[:count] if named else [str(index) for index in range(count)]
