"""Candidate mixtures: Dirichlet draws around a prior, kept only inside the feasible region.

RegMix (Liu et al. 2024, section 3) samples its proxy mixtures from a Dirichlet centred on the
token distribution, at varied concentration so that both near-natural and extreme mixtures
are seen. We do the same with concentrations taken in turn (alpha = c * K * prior), and add
the data constraint RegMix leaves out: a draw that would repeat a source beyond its
`max_epochs` at the final run's budget (or the proxy's) is rejected and counted, since a
mixture that wins at proxy scale but cannot be trained at full scale is no answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.errors import ConfigError

MAX_DRAWS_PER_CANDIDATE = 10_000
MIN_WEIGHT = 1e-6
"""Floor of a sampled weight: a mixture file refuses weight 0, and a Dirichlet with small alpha
underflows to exactly 0. A millionth of the tokens is nothing at any budget."""


@dataclass(frozen=True)
class Draws:
    weights: np.ndarray
    """(count, K) feasible mixtures, rows summing to 1."""
    rejected: int
    """Infeasible draws thrown away on the way."""


def feasible(weights: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Rows within every source's share limit (a hair of slack for float round-off)."""
    return np.all(weights <= limits * (1 + 1e-9), axis=-1)


def sample_feasible(prior: np.ndarray, limits: np.ndarray, count: int, concentrations: list[float],
                    rng: np.random.Generator) -> Draws:
    """`count` feasible Dirichlet draws, the concentrations taken in turn, in a fixed order for a seed."""
    alphas = [np.maximum(c * len(prior) * prior, 1e-3) for c in concentrations]
    kept, rejected, draws = [], 0, 0
    while len(kept) < count:
        alpha = alphas[len(kept) % len(alphas)]
        weights = floored(rng.dirichlet(alpha))
        draws += 1
        if feasible(weights, limits):
            kept.append(weights)
        else:
            rejected += 1
        if draws > MAX_DRAWS_PER_CANDIDATE * count:
            raise ConfigError(f"only {len(kept)} of {count} candidates found feasible in {draws:,} draws: the "
                              "feasible region is tiny; raise max_epochs of the limiting sources or lower the budget")
    return Draws(np.array(kept), rejected)


def sample_many(prior: np.ndarray, limits: np.ndarray, count: int, concentrations: list[float],
                rng: np.random.Generator) -> np.ndarray:
    """Up to `count` feasible draws, vectorised (for searching a fitted surface; rejections not counted)."""
    per = -(-count // len(concentrations))
    draws = floored(np.concatenate([rng.dirichlet(np.maximum(c * len(prior) * prior, 1e-3), size=per)
                                    for c in concentrations]))
    return draws[feasible(draws, limits)]


def floored(weights: np.ndarray) -> np.ndarray:
    weights = np.maximum(weights, MIN_WEIGHT)
    return weights / weights.sum(axis=-1, keepdims=True)
