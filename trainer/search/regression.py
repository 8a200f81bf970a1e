"""From mixture weights to a score: two regressions, leave-one-out selection, and a search of the fit.

RegMix (Liu et al. 2024) fits LightGBM to (weights, proxy loss) pairs and finds the best
mixture by scoring many sampled mixtures with it. A tree ensemble is flexible but
piecewise constant and data-hungry (RegMix trains 512 proxies); with tens of proxies a
smooth model can do better, so we also fit a linear model on log-weights,

    score ≈ b + Σ_i c_i · log(w_i)        (ridge, w floored at 1e-4)

which captures the diminishing returns of adding a source (the data-mixing laws of Ye et
al. 2024 have the same flavour), and keep whichever has the smaller leave-one-out error;
both errors are reported. LightGBM settings follow RegMix's (gbdt, l2, learning rate 0.01,
1000 rounds) except that leaves may hold as few as 2 rows, since the default of 20 would
forbid any split on 32 proxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.stats import spearmanr

from trainer.search.candidates import feasible, sample_many
from trainer.search.config import FitConfig

LOG_FLOOR = 1e-4
RIDGE = 1e-3
LOCAL_CONCENTRATION = 300.0
"""Dirichlet concentration of the local refinement around a good point: draws land a few points of
weight away from it."""


class Regressor(Protocol):
    def fit(self, weights: np.ndarray, scores: np.ndarray) -> Regressor: ...
    def predict(self, weights: np.ndarray) -> np.ndarray: ...


class LogLinear:
    """Ridge regression of the score on log-weights (intercept not penalised)."""

    def fit(self, weights: np.ndarray, scores: np.ndarray) -> LogLinear:
        features = self._features(weights)
        self.mean, self.scale = features.mean(0), features.std(0) + 1e-12
        design = np.hstack([np.ones((len(features), 1)), (features - self.mean) / self.scale])
        penalty = RIDGE * len(scores) * np.eye(design.shape[1])
        penalty[0, 0] = 0
        self.coef = np.linalg.solve(design.T @ design + penalty, design.T @ scores)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        features = (self._features(weights) - self.mean) / self.scale
        return self.coef[0] + features @ self.coef[1:]

    @staticmethod
    def _features(weights: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(weights, LOG_FLOOR))


class LightGBM:
    """RegMix's regressor, deterministic and single-threaded."""

    def fit(self, weights: np.ndarray, scores: np.ndarray) -> LightGBM:
        import lightgbm

        params = {"objective": "regression", "learning_rate": 0.01, "num_leaves": 8, "min_data_in_leaf": 2,
                  "min_sum_hessian_in_leaf": 0.0, "min_data_in_bin": 1, "seed": 0, "deterministic": True,
                  "num_threads": 1, "verbosity": -1}
        data = lightgbm.Dataset(weights, scores, params={"min_data_in_bin": 1, "verbosity": -1})
        self.booster = lightgbm.train(params, data, num_boost_round=1000)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return self.booster.predict(np.atleast_2d(weights))


MODELS: dict[str, type] = {"lightgbm": LightGBM, "linear": LogLinear}


@dataclass(frozen=True)
class FitQuality:
    name: str
    loo_predictions: list[float]
    """Each row's score predicted by a model fitted on the other rows."""
    loo_mae: float
    loo_rmse: float
    loo_spearman: float
    """Rank correlation of the leave-one-out predictions with the observed scores: what picking needs."""


def leave_one_out(name: str, weights: np.ndarray, scores: np.ndarray) -> FitQuality:
    predictions = np.empty(len(scores))
    for row in range(len(scores)):
        rest = np.arange(len(scores)) != row
        predictions[row] = MODELS[name]().fit(weights[rest], scores[rest]).predict(weights[row:row + 1])[0]
    errors = predictions - scores
    rho = spearmanr(predictions, scores).statistic if np.ptp(predictions) > 0 else float("nan")
    return FitQuality(name=name, loo_predictions=predictions.tolist(), loo_mae=float(np.abs(errors).mean()),
                      loo_rmse=float(np.sqrt((errors ** 2).mean())), loo_spearman=float(rho))


@dataclass(frozen=True)
class Fit:
    chosen: str
    """The model with the smaller leave-one-out mean absolute error."""
    quality: dict[str, FitQuality]
    model: Regressor
    """The chosen model, refitted on every row."""


def fit_surface(weights: np.ndarray, scores: np.ndarray) -> Fit:
    if len(scores) < 3:
        raise ValueError(f"a fit needs at least 3 scored mixtures, got {len(scores)}")
    quality = {name: leave_one_out(name, weights, scores) for name in MODELS}
    chosen = min(quality, key=lambda name: quality[name].loo_mae)
    return Fit(chosen=chosen, quality=quality, model=MODELS[chosen]().fit(weights, scores))


def search_surface(model: Regressor, prior: np.ndarray, limits: np.ndarray, concentrations: list[float],
                   config: FitConfig, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The predicted best feasible mixture and its predicted score.

    1. Score `surface_samples` feasible Dirichlet draws around the prior.
    2. `refine_rounds` times: draw around each of the top_k points (concentration 300) and score those.
    3. Return the mean of the top_k points: feasible, as the feasible region is convex.
    """
    pool = sample_many(prior, limits, config.surface_samples, concentrations, rng)
    predicted = model.predict(pool)
    per_point = max(1, config.surface_samples // (10 * config.top_k))
    for _ in range(config.refine_rounds):
        top = pool[np.argsort(predicted, kind="stable")[:config.top_k]]
        local = np.concatenate([sample_many(point, limits, per_point, [LOCAL_CONCENTRATION], rng) for point in top])
        pool, predicted = np.concatenate([pool, local]), np.concatenate([predicted, model.predict(local)])
    best = pool[np.argsort(predicted, kind="stable")[:config.top_k]].mean(0)
    best /= best.sum()
    assert feasible(best, limits), "a mean of feasible mixtures is feasible"
    return best, float(model.predict(best[None])[0])
