"""Parallelism, applied to a finished single-device model (torchtitan's `parallelize`).

`torchrun` sets RANK, WORLD_SIZE and LOCAL_RANK; one process per device joins a process
group (NCCL on GPUs, gloo on CPUs). The model is then compiled block by block if asked
(torchtitan compiles each transformer block: the repeated blocks share one compiled graph),
and wrapped in DDP, or sharded with FSDP2's `fully_shard` block by block and then at the
root (torchtitan's `apply_fsdp`). The model file knows none of this.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import torch
import torch.distributed as dist
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor
from torch.nn.parallel import DistributedDataParallel as DDP

from dataflow.errors import ConfigError
from trainer.model import GPT


@dataclass(frozen=True)
class Distributed:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: Literal["auto", "cpu", "cuda"], timeout_seconds: float = 600) -> Distributed:
    """Pick this process's device and, under torchrun, join the process group.

    `timeout_seconds` bounds the rendezvous and every collective: when one rank dies or hangs,
    the others fail after it instead of waiting 30 minutes (gloo) or forever, so the whole job
    ends and a scheduler can requeue it.
    """
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device is cuda but torch sees no GPU; set device: cpu or auto")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(seconds=timeout_seconds))
    return Distributed(rank=rank, local_rank=local_rank, world_size=world_size, device=chosen)


def parallelize(model: GPT, strategy: Literal["ddp", "fsdp"], bf16: bool, compile: bool,
                env: Distributed) -> torch.nn.Module:
    """Compile, then wrap for data parallelism; a single process gets the model back unwrapped."""
    if compile:
        for block in model.blocks:
            block.compile()
    if env.world_size == 1:
        return model
    if strategy == "ddp":
        return DDP(model, device_ids=[env.local_rank] if env.device.type == "cuda" else None)
    # FSDP2 computes in bf16 through its own casts; weights, gradients and their reduction stay fp32.
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16,
                                  reduce_dtype=torch.float32) if bf16 else MixedPrecisionPolicy()
    for block in model.blocks:
        fully_shard(block, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model


def autocast(model: torch.nn.Module, device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast where FSDP's mixed precision does not already do the casting."""
    if not bf16 or isinstance(model, FSDPModule):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def set_gradient_sync(model: torch.nn.Module, enabled: bool) -> None:
    """Reduce gradients across ranks only on the last micro-batch of a step (nanoGPT's accumulation)."""
    if isinstance(model, DDP):
        model.require_backward_grad_sync = enabled
    elif isinstance(model, FSDPModule):
        model.set_requires_gradient_sync(enabled)


def clip_grad_norm(model: torch.nn.Module, max_norm: float) -> float:
    """Global gradient norm before clipping (all ranks agree), clipping when `max_norm` > 0."""
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm if max_norm > 0 else float("inf"))
    if isinstance(norm, DTensor):
        norm = norm.full_tensor()
    return norm.item()


def mean_across_ranks(value: torch.Tensor) -> float:
    """The mean of a scalar over all ranks (gloo has no AVG reduction: sum, then divide)."""
    if dist.is_initialized():
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= dist.get_world_size()
    return value.item()
