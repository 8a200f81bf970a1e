"""Run a function in N processes joined over gloo, set up as torchrun sets up its workers.

The processes are forked, so they inherit the imported torch instead of importing it again
(spawning costs about ten seconds a rank on two shared cores). Forking is safe here: the
parent never initialises CUDA or a process group, and tests run torch on one thread.
"""

import os
import socket

import torch
import torch.multiprocessing as mp


def run_ranks(target, world_size: int, *args) -> None:
    """Call `target(*args)` on ranks 0..world_size-1; a failure on any rank fails the caller."""
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mp.start_processes(_rank, args=(target, world_size, port, args), nprocs=world_size, start_method="fork")


def _rank(rank: int, target, world_size: int, port: int, args: tuple) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    target(*args)
