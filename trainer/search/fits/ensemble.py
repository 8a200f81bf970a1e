"""A rank-averaged ensemble of the fitted models: when no family is clearly right, average their orders.

Each member's prediction becomes a rank among its own predictions on the training mixtures
(interpolated, and extended linearly beyond them, so a point better than every training row still
ranks better); the members' ranks are averaged with weights (a better-ordering member counts more,
`regression.member_shares`), and the mean rank is read back on the loss scale
through the sorted observed scores. Averaging ranks rather than values keeps a member with a
different scale or a flat region (LightGBM outside its data) from dominating, and the result
depends only on the mixture scored, not on the batch it comes in, so the surface search can
compare points scored in different rounds.
"""

from __future__ import annotations

import numpy as np


class RankEnsemble:
    def __init__(self, members: dict, shares: dict[str, float]):
        self.members = members
        """Fitted models by name."""
        self.shares = shares
        """Each member's weight in the mean rank, summing to 1."""

    def calibrate(self, weights: np.ndarray, target: np.ndarray) -> RankEnsemble:
        """Fix the rank scales on the training rows the members were fitted on."""
        self.scales = {name: np.sort(model.predict(weights)) for name, model in self.members.items()}
        self.levels = np.sort(target)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        weights = np.atleast_2d(weights)
        ranks = sum(self.shares[name] * rank_within(self.scales[name], model.predict(weights))
                    for name, model in self.members.items())
        return value_at_rank(self.levels, ranks)


def rank_within(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fractional rank (0 .. n-1) of values among the sorted `ordered`, linear beyond both ends."""
    slope = (len(ordered) - 1) / np.ptp(ordered) if np.ptp(ordered) > 0 else 0.0
    ranks = np.interp(values, ordered, np.arange(len(ordered)))
    ranks = np.where(values < ordered[0], (values - ordered[0]) * slope, ranks)
    return np.where(values > ordered[-1], len(ordered) - 1 + (values - ordered[-1]) * slope, ranks)


def value_at_rank(levels: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The inverse of `rank_within` on the sorted observed scores."""
    step = np.ptp(levels) / (len(levels) - 1) if len(levels) > 1 else 0.0
    values = np.interp(ranks, np.arange(len(levels)), levels)
    values = np.where(ranks < 0, levels[0] + ranks * step, values)
    return np.where(ranks > len(levels) - 1, levels[-1] + (ranks - len(levels) + 1) * step, values)
