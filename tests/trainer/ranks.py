"""Run a function in N processes joined over gloo, set up as torchrun sets up its workers.

The ranks start from a fork server, not from a fork of the test process: by the time these
tests run, pytest holds Spark's py4j threads, fsspec's IO loop and tqdm's monitor, and a fork
taken while one of them holds a lock can leave a rank waiting forever (CI saw one such hang).
The server is a fresh interpreter that imports torch and the trainer once, so each rank is
still a cheap fork of an already-imported torch. A rank that is still alive when the wait
ends - by failure, by the deadline, or by pytest-timeout - is killed, so a hang fails one
test instead of keeping the interpreter from exiting.
"""

import multiprocessing
import os
import socket
import time

import torch
import torch.multiprocessing as mp

PRELOAD = ["torch", "torch.distributed", "trainer.train"]
DEADLINE_SECONDS = 300


def run_ranks(target, world_size: int, *args, deadline_seconds: float = DEADLINE_SECONDS) -> None:
    """Call `target(*args)` on ranks 0..world_size-1; a failure on any rank fails the caller.

    `target` must be a module-level function (the ranks unpickle it by name)."""
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    multiprocessing.set_forkserver_preload(PRELOAD)
    context = mp.start_processes(_rank, args=(target, world_size, port, args), nprocs=world_size,
                                 start_method="forkserver", join=False)
    give_up = time.monotonic() + deadline_seconds
    try:
        while not context.join(timeout=1.0):
            if time.monotonic() > give_up:
                raise TimeoutError(f"{world_size} ranks still running after {deadline_seconds:.0f} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
                process.join()


def _rank(rank: int, target, world_size: int, port: int, args: tuple) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    target(*args)
