"""A rank left waiting by another that stalls or dies fails after the collective timeout, so the
whole job ends (and a scheduler can requeue it) instead of hanging."""

import time

import pytest
import torch
import torch.distributed as dist
from torch.multiprocessing import ProcessRaisedException

from trainer.parallel import init_distributed

from ranks import run_ranks

pytestmark = pytest.mark.fault


def _rank_zero_stalls(timeout_seconds: float) -> None:
    env = init_distributed("cpu", timeout_seconds)
    if env.rank == 0:
        time.sleep(600)  # stuck, e.g. on a dead filesystem: never joins the collective
    dist.all_reduce(torch.ones(1))


@pytest.mark.timeout(180)  # a hang guard: without the timeout, rank 1 would wait 30 minutes
def test_rank_waiting_on_a_stalled_rank_fails_after_the_collective_timeout():
    with pytest.raises(ProcessRaisedException, match=r"(?i)timed out|timeout"):
        run_ranks(_rank_zero_stalls, 2, 3.0)
