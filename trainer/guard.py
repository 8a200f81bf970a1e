"""Loss-spike guard: skip an update whose loss or gradient norm jumps, roll back when it persists.

PaLM (Chowdhery et al. 2022, section 5.1) met spikes by restarting from a checkpoint about
100 steps before the spike and skipping 200-500 batches; OPT's logbook records the same
manual practice. This automates it: each step's loss and gradient norm are compared with
the accepted steps of a recent window as z-scores; a step above `max_z`, or with a
non-finite value, is skipped (the optimizer never sees its gradients), and
`max_consecutive_spikes` skipped steps in a row ask for a rollback to the last good
checkpoint, the data stream continuing past the window that caused them. Each skipped step's
event in events.jsonl names the batch's documents, worst first (trainer/train.py through
dataflow/mix/provenance.py), and `dataflow inspect run RUN --spikes` shows them.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from dataflow.config import StrictModel


class GuardConfig(StrictModel):
    """When a step counts as a spike and what the trainer does about it."""

    window: int = Field(default=50, gt=1)
    """Accepted steps whose loss and gradient norm are the reference for the z-scores."""
    min_history: int = Field(default=20, gt=1)
    """Accepted steps needed before z-scores are judged; until then only non-finite values are spikes."""
    max_z: float = Field(default=6.0, gt=0)
    """A step whose loss or gradient norm is more than this many standard deviations above the window's mean is
    skipped."""
    min_std_frac: float = Field(default=0.01, ge=0)
    """Floor on the standard deviation as a share of the mean, so a flat loss curve does not turn noise into spikes."""
    max_consecutive_spikes: int = Field(default=5, gt=0)
    """Skipped steps in a row that trigger a rollback to the newest checkpoint."""
    max_rollbacks: int = Field(default=3, ge=0)
    """Rollbacks allowed in a run; one more spike streak stops training with an error."""
    max_event_documents: int = Field(default=20, ge=0)
    """Documents of a spiking batch recorded in its events.jsonl event, the highest excess loss first
    (`dataflow/mix/provenance.py`); `dataflow inspect run --step N` lists them all."""


class Verdict(enum.Enum):
    OK = "ok"
    SKIP = "skip"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    loss_z: float
    grad_norm_z: float


class SpikeGuard:
    """Judges each step; Stateful, so a resumed run judges as the uninterrupted one would."""

    def __init__(self, config: GuardConfig):
        self.config = config
        self.losses: deque[float] = deque(maxlen=config.window)
        self.grad_norms: deque[float] = deque(maxlen=config.window)
        self.consecutive = 0

    def judge(self, loss: float, grad_norm: float) -> Judgement:
        loss_z, grad_norm_z = self._z(self.losses, loss), self._z(self.grad_norms, grad_norm)
        spike = not (math.isfinite(loss) and math.isfinite(grad_norm)) or max(loss_z, grad_norm_z) > self.config.max_z
        if not spike:
            self.losses.append(loss)
            self.grad_norms.append(grad_norm)
            self.consecutive = 0
            return Judgement(Verdict.OK, loss_z, grad_norm_z)
        self.consecutive += 1
        verdict = Verdict.ROLLBACK if self.consecutive >= self.config.max_consecutive_spikes else Verdict.SKIP
        return Judgement(verdict, loss_z, grad_norm_z)

    def _z(self, history: deque[float], value: float) -> float:
        if len(history) < self.config.min_history or not math.isfinite(value):
            return 0.0
        mean = sum(history) / len(history)
        std = math.sqrt(sum((x - mean) ** 2 for x in history) / len(history))
        return (value - mean) / max(std, self.config.min_std_frac * abs(mean), 1e-12)

    def state_dict(self) -> dict[str, Any]:
        return {"losses": list(self.losses), "grad_norms": list(self.grad_norms), "consecutive": self.consecutive}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.losses = deque(state["losses"], maxlen=self.config.window)
        self.grad_norms = deque(state["grad_norms"], maxlen=self.config.window)
        self.consecutive = state["consecutive"]
