"""AdamW and the learning-rate schedule: warmup, then cosine or warmup-stable-decay (WSD)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field

from dataflow.config import StrictModel


class OptimConfig(StrictModel):
    """AdamW settings and the learning-rate schedule."""

    lr: float = Field(default=1e-3, gt=0)
    """Peak learning rate, reached at the end of warmup."""
    schedule: Literal["cosine", "wsd"] = "cosine"
    """`cosine` decays from the peak to the floor over the whole run (Chinchilla); `wsd` holds the peak
    and decays only over the last `decay_frac` of the steps (MiniCPM, Hu et al. 2024), so branches
    from a stable-phase checkpoint can compare anneal-phase mixtures cheaply."""
    warmup_steps: int = Field(default=100, ge=0)
    """Steps of linear warmup from lr / warmup_steps to lr."""
    min_lr_frac: float = Field(default=0.1, ge=0, le=1)
    """Final learning rate as a share of the peak (Chinchilla decays to 10%)."""
    decay_frac: float = Field(default=0.2, ge=0, le=1)
    """WSD only: share of all steps spent decaying (Hagele et al. 2024 find ~20% matches cosine)."""
    weight_decay: float = Field(default=0.1, ge=0)
    """Decoupled weight decay on matrices; norms' gains are not decayed (nanoGPT)."""
    beta1: float = Field(default=0.9, ge=0, lt=1)
    """AdamW first-moment decay."""
    beta2: float = Field(default=0.95, ge=0, lt=1)
    """AdamW second-moment decay; 0.95 rather than 0.999 for stability at large batch (GPT-3, LLaMA)."""
    grad_clip: float = Field(default=1.0, ge=0)
    """Clip the global gradient norm to this; 0 turns clipping off (the norm is still measured for the guard)."""


def lr_at(step: int, max_steps: int, config: OptimConfig) -> float:
    """Learning rate of optimizer step `step` (0-based) of a `max_steps` run."""
    peak, floor = config.lr, config.lr * config.min_lr_frac
    # 1) linear warmup to the peak
    if step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    last = max_steps - 1
    # 2) cosine: from the peak at the end of warmup down to the floor at the last step
    if config.schedule == "cosine":
        progress = min(1.0, (step - config.warmup_steps) / max(1, last - config.warmup_steps))
        return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - floor)
    # 3) WSD: hold the peak until the decay phase starts
    decay_start = max(config.warmup_steps, max_steps - round(config.decay_frac * max_steps))
    if step < decay_start:
        return peak
    # 4) WSD decay: linear from the peak down to the floor at the last step
    progress = min(1.0, (step - decay_start) / max(1, last - decay_start))
    return peak + progress * (floor - peak)


def build_optimizer(model: torch.nn.Module, config: OptimConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only; `fused` (CUDA) runs one kernel per step."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), fused=fused)


def apply_hyperparameters(optimizer: torch.optim.AdamW, config: OptimConfig) -> None:
    """Set betas and weight decay from `config`: a loaded optimizer state brings its run's own."""
    decay, _ = optimizer.param_groups
    for group in optimizer.param_groups:
        group["betas"] = (config.beta1, config.beta2)
    decay["weight_decay"] = config.weight_decay
