"""The data mixing law of Ye et al. 2024 ("Data Mixing Laws", arXiv 2403.16952), fitted robustly.

For one evaluated dataset, the loss of a model trained on mixture r (shares r_j summing to 1) is

    L(r) = c + k · exp(Σ_j t_j · r_j)

with c the loss no mixture removes, and t_j how fast source j moves this dataset's loss. Since the
shares sum to 1, k and a common offset of the t_j are the same degree of freedom: we fit
L(r) = c + exp(Σ_j t_j · r_j) (k > 0 is folded into the t_j). A target that weighs several datasets
gets one law per dataset, and its prediction is the weighted sum of the laws (the paper's
composition for multi-domain validation sets): each dataset bends differently, and a single law
on their sum would have to average the bends away.

The fit is `scipy.optimize.least_squares` with the `soft_l1` loss (a diverging or noisy proxy
pulls it less than squared error would), from several floors c below the best observed loss,
each start's t solved in closed form from log(L - c); the lowest robust cost wins. A small
ridge on the spread of t keeps many-source fits on few rows finite.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

FLOOR_STARTS = (0.05, 0.3, 1.0, 3.0)
"""Starts of c: the best observed loss minus these multiples of the observed spread."""
ROBUST_SCALE = 0.02
"""soft_l1's f_scale as a share of the observed spread: residuals beyond it count linearly, not squared."""
RIDGE = 1e-3
"""Weight of the penalty on t_j - mean(t), relative to the spread: negligible once rows outnumber sources."""
MAX_EXPONENT = 50.0


class MixingLaw:
    """One law per target dataset; the prediction is the target's weighted sum of them."""

    def fit(self, weights: np.ndarray, scores) -> MixingLaw:
        self.part_weights = scores.part_weights
        self.laws = [fit_law(weights, scores.parts[:, part]) for part in range(scores.parts.shape[1])]
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        weights = np.atleast_2d(weights)
        return sum(share * law_value(weights, *law) for share, law in zip(self.part_weights, self.laws))


def law_value(weights: np.ndarray, floor: float, slopes: np.ndarray) -> np.ndarray:
    return floor + np.exp(np.minimum(weights @ slopes, MAX_EXPONENT))


def fit_law(weights: np.ndarray, losses: np.ndarray) -> tuple[float, np.ndarray]:
    """(c, t) of the law with the lowest robust cost over the starts."""
    spread = float(np.ptp(losses)) or float(np.abs(losses).mean()) or 1.0
    ceiling = float(losses.min())
    ridge = RIDGE * spread
    sources = weights.shape[1]

    def residuals(params: np.ndarray) -> np.ndarray:
        slopes = params[1:]
        return np.concatenate([law_value(weights, params[0], slopes) - losses, ridge * (slopes - slopes.mean())])

    def jacobian(params: np.ndarray) -> np.ndarray:
        grow = np.exp(np.minimum(weights @ params[1:], MAX_EXPONENT))
        data = np.hstack([np.ones((len(losses), 1)), weights * grow[:, None]])
        centred = ridge * (np.eye(sources) - 1 / sources)
        return np.vstack([data, np.hstack([np.zeros((sources, 1)), centred])])

    best = None
    for share in FLOOR_STARTS:
        floor = ceiling - share * spread
        slopes = np.linalg.lstsq(weights, np.log(losses - floor), rcond=None)[0]  # Σ r = 1: no intercept
        start = np.concatenate([[floor], slopes])
        result = least_squares(residuals, start, jac=jacobian, loss="soft_l1", f_scale=ROBUST_SCALE * spread,
                               bounds=(np.full(sources + 1, -np.inf), np.r_[ceiling, np.full(sources, np.inf)]),
                               max_nfev=200)
        if best is None or result.cost < best.cost:
            best = result
    return float(best.x[0]), best.x[1:]
