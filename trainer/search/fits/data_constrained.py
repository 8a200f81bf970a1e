"""Repeated tokens are worth less than fresh ones: the data-constrained scaling law.

Muennighoff et al. (2023, "Scaling Data-Constrained Language Models", equation 5) find that
D tokens drawn from U unique tokens, i.e. R = D/U − 1 repetitions beyond the first epoch,
train like

    D' = U + U·R*·(1 − e^(−R/R*))

fresh tokens, with R* ≈ 15.4 fitted on their runs: up to about 4 epochs repeated data is
almost as good as fresh, and beyond ~16 its value decays towards zero. A mixture repeats each
source at its own rate, so the effective tokens of a mixture are the sum over sources.

`constrained_optimum` puts D' into a fitted L(N, D) and finds the compute-optimal model size
along C = 6·N·D; with enough data it is the closed-form optimum, with too little it shifts
towards more parameters and fewer (repeated) tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from trainer.search.fits.scaling_law import ScalingLaw

R_STAR = 15.4
"""Muennighoff et al.'s fitted R*_D: the repetitions at which repeated data has lost ~63% of its value."""


def effective_tokens(tokens: float, unique: float, r_star: float = R_STAR) -> float:
    """D' for `tokens` drawn from `unique` tokens; equal to `tokens` up to one epoch."""
    if tokens <= unique:
        return float(tokens)
    repeats = tokens / unique - 1
    return float(unique + unique * r_star * (1 - np.exp(-repeats / r_star)))


def mixture_effective_tokens(tokens: float, weights: dict[str, float], unique: dict[str, float],
                             r_star: float = R_STAR) -> float:
    """D' of `tokens` drawn with `weights` from sources of `unique` tokens each."""
    return sum(effective_tokens(weights[name] * tokens, unique[name], r_star) for name in weights if weights[name] > 0)


@dataclass(frozen=True)
class Allocation:
    """A model size and token count for a compute budget, and what the law predicts for it."""

    params: float
    tokens: float
    effective_tokens: float
    predicted_loss: float
    epochs: dict[str, float]
    """Passes over each source's unique tokens."""


def constrained_optimum(law: ScalingLaw, compute: float, weights: dict[str, float], unique: dict[str, float],
                        r_star: float = R_STAR) -> Allocation:
    """The (N, D) with 6·N·D = compute that minimises L(N, D') when repeats count as D'."""

    def loss_at(log_params: float) -> float:
        params = np.exp(log_params)
        return float(law.loss(params, mixture_effective_tokens(compute / (6 * params), weights, unique, r_star)))

    fresh = float(np.log(law.optimal_params(compute)))
    # D' <= D, so the constrained optimum has about as many parameters as the fresh one or more.
    found = minimize_scalar(loss_at, bounds=(fresh - 1.0, fresh + np.log(1e4)), method="bounded",
                            options={"xatol": 1e-6})
    return allocation(law, compute, float(np.exp(found.x)), weights, unique, r_star)


def fresh_optimum(law: ScalingLaw, compute: float, weights: dict[str, float], unique: dict[str, float],
                  r_star: float = R_STAR) -> Allocation:
    """The closed-form optimum that treats every token as fresh, with what it really implies for the sources."""
    return allocation(law, compute, float(law.optimal_params(compute)), weights, unique, r_star)


def allocation(law: ScalingLaw, compute: float, params: float, weights: dict[str, float], unique: dict[str, float],
               r_star: float = R_STAR) -> Allocation:
    tokens = compute / (6 * params)
    effective = mixture_effective_tokens(tokens, weights, unique, r_star)
    return Allocation(params=params, tokens=tokens, effective_tokens=effective,
                      predicted_loss=float(law.loss(params, effective)),
                      epochs={name: weights[name] * tokens / unique[name] for name in weights})
