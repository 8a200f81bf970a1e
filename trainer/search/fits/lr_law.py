"""The best learning rate as a power law of model size, from sweeps at several sizes.

Small models tolerate larger learning rates; across sizes the optimum follows roughly
lr_opt ∝ N^(−k) (Kaplan et al. 2020 equation 3.3 and DeepSeek LLM, Bi et al. 2024, section
3.1, both fit power laws of this kind), so sweeps at a few proxy sizes predict the rate of
a larger model. Per size, loss against log(lr) is close to a parabola near its minimum;
its vertex through the three best points is the size's optimum (the best swept rate when
the minimum lies at the edge of the sweep, which is flagged: widen the sweep).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.errors import ConfigError


@dataclass(frozen=True)
class SizeOptimum:
    params: float
    lr: float
    loss: float
    """Loss at the best swept rate."""
    at_edge: bool
    """The best swept rate is the smallest or largest tried: the true optimum may lie outside the sweep."""


@dataclass(frozen=True)
class LrLaw:
    """lr_opt(N) = coefficient · N^(−exponent)."""

    coefficient: float
    exponent: float

    def lr(self, params: float) -> float:
        return float(self.coefficient * params ** (-self.exponent))


def size_optimum(params: float, lrs: np.ndarray, losses: np.ndarray) -> SizeOptimum:
    """The optimum of one size's sweep: vertex of a parabola in log(lr) through the three best rates."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    order = np.argsort(lrs)
    lrs, losses = lrs[order], losses[order]
    best = int(np.argmin(losses))
    if best in (0, len(lrs) - 1) or len(lrs) < 3:
        return SizeOptimum(params=float(params), lr=float(lrs[best]), loss=float(losses[best]), at_edge=True)
    x, y = np.log(lrs[best - 1:best + 2]), losses[best - 1:best + 2]
    curve, slope, _ = np.polyfit(x, y, 2)
    vertex = -slope / (2 * curve)  # inside [x0, x2]: the middle point is the lowest
    return SizeOptimum(params=float(params), lr=float(np.exp(vertex)), loss=float(losses[best]), at_edge=False)


def fit_lr_law(optima: list[SizeOptimum]) -> LrLaw:
    """Least squares of log(lr_opt) on log(N) over the sizes."""
    sizes = np.array([o.params for o in optima])
    if len(np.unique(sizes)) < 2:
        raise ConfigError(f"a learning-rate law needs sweeps at 2 or more model sizes; {len(np.unique(sizes))} given")
    slope, intercept = np.polyfit(np.log(sizes), np.log([o.lr for o in optima]), 1)
    return LrLaw(coefficient=float(np.exp(intercept)), exponent=float(-slope))
