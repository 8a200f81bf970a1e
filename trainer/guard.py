"""Loss-spike guard: skip an update whose loss jumps, roll back when it persists.

PaLM (Chowdhery et al. 2022, section 5.1) met spikes by restarting from a checkpoint about
100 steps before the spike and skipping 200-500 batches; OPT's logbook records the same
manual practice. This automates it: each step's loss is compared with the recent accepted steps
as a robust z-score (distance from the median in units of the median absolute deviation, scaled
to a std: a few outliers in the window move neither); a step above `max_z`, or with a
non-finite loss or gradient norm, is skipped (the optimizer never sees its gradients), and
`max_consecutive_spikes` of them in a row ask for a rollback to the last good checkpoint, the
data stream continuing past the window that caused them.

The guard judges only what it has seen enough of. Until `min_history` steps are accepted, and
before `after_warmup` times the warmup, only non-finite values are spikes: early training moves
fast, and a z-score from a short history misfires (a probe of the search saw "grad norm 2.148
(z 22.1)" at step 70 and runs declared diverged at step 43). The gradient norm's z-score is
recorded with every skipped step but decides nothing: on real text early gradient norms jump
to 5-40 robust std above their median while the loss stays normal (steps 50-100 of the proxies
in docs/search/proxy-recipe.md), gradient clipping already bounds such an update, and a
degenerate batch (random tokens, a page of slashes) shows in the loss.

Each skipped step's event in events.jsonl names the batch's documents, worst first
(trainer/train.py through dataflow/mix/provenance.py), and `dataflow inspect run RUN --spikes` shows them.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from dataflow.config import StrictModel


class GuardConfig(StrictModel):
    """When a step counts as a spike and what the trainer does about it."""

    window: int = Field(default=100, gt=1)
    """Accepted steps whose loss and gradient norm are the reference (median and MAD) for the z-scores."""
    min_history: int = Field(default=50, gt=1)
    """Accepted steps needed before z-scores are judged; until then only non-finite values are spikes."""
    after_warmup: float = Field(default=2.0, ge=0)
    """No z-score is judged before this many times `optim.warmup_steps` steps are accepted either."""
    max_z: float = Field(default=6.0, gt=0)
    """A step whose loss is more than this many robust standard deviations (1.4826 × the median absolute
    deviation) above the window's median is skipped."""
    min_std_frac: float = Field(default=0.01, ge=0)
    """Floor on the robust standard deviation as a share of the median, so a flat curve does not turn noise into
    spikes."""
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

    def __init__(self, config: GuardConfig, warmup_steps: int = 0):
        self.config = config
        self.min_seen = max(config.min_history, math.ceil(config.after_warmup * warmup_steps))
        self.losses: deque[float] = deque(maxlen=config.window)
        self.grad_norms: deque[float] = deque(maxlen=config.window)
        self.seen = 0
        """Steps accepted so far (all of them, not only the window's)."""
        self.consecutive = 0

    def judge(self, loss: float, grad_norm: float) -> Judgement:
        loss_z, grad_norm_z = self._z(self.losses, loss), self._z(self.grad_norms, grad_norm)
        spike = not (math.isfinite(loss) and math.isfinite(grad_norm)) or loss_z > self.config.max_z
        if not spike:
            self.losses.append(loss)
            self.grad_norms.append(grad_norm)
            self.seen += 1
            self.consecutive = 0
            return Judgement(Verdict.OK, loss_z, grad_norm_z)
        self.consecutive += 1
        verdict = Verdict.ROLLBACK if self.consecutive >= self.config.max_consecutive_spikes else Verdict.SKIP
        return Judgement(verdict, loss_z, grad_norm_z)

    def _z(self, history: deque[float], value: float) -> float:
        """Robust z-score of `value` against the history; 0 until the guard has seen enough steps."""
        if self.seen < self.min_seen or len(history) < min(self.config.min_history, self.config.window) \
                or not math.isfinite(value):
            return 0.0
        median = statistics.median(history)
        mad = statistics.median(abs(x - median) for x in history)
        return (value - median) / max(1.4826 * mad, self.config.min_std_frac * abs(median), 1e-12)

    def state_dict(self) -> dict[str, Any]:
        return {"losses": list(self.losses), "grad_norms": list(self.grad_norms), "consecutive": self.consecutive,
                "seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.losses = deque(state["losses"], maxlen=self.config.window)
        self.grad_norms = deque(state["grad_norms"], maxlen=self.config.window)
        self.consecutive = state["consecutive"]
        self.seen = state.get("seen", len(self.losses))  # a checkpoint from before it was kept: its history
