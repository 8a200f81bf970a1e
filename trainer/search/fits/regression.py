"""From mixture weights to a score: four fits, cross-validated, and a search of the chosen one's surface.

RegMix (Liu et al. 2024) fits LightGBM to (weights, proxy loss) pairs and finds the best
mixture by scoring many sampled mixtures with it. A tree ensemble is flexible but
piecewise constant and data-hungry (RegMix trains 512 proxies); with tens of proxies a
smooth model can do better. The fits, each scored by cross-validation:

- `lightgbm`: RegMix's regressor. Settings follow RegMix's (gbdt, l2, learning rate 0.01,
  1000 rounds) except that leaves may hold as few as 2 rows, since the default of 20 would
  forbid any split on 32 proxies.
- `linear`: ridge on log-weights, score ≈ b + Σ_i c_i · log(w_i) (w floored at 1e-4): the
  diminishing returns of adding a source, with one coefficient per source.
- `mixing-law`: the data mixing law of Ye et al. 2024 (`mixing_law.py`), one law per target
  dataset, fitted with a robust loss: smooth, with a floor, extrapolates past the rows.
- `ensemble`: the three above, rank-averaged (`ensemble.py`), each weighted by how well it
  orders held-out rows (`member_shares`).

Cross-validation is leave-one-out up to `LOO_MAX_ROWS` rows and `CV_FOLDS`-fold beyond (a
512-row table would otherwise cost 512 fits per model). The choice goes by cross-validated
Spearman, since picking needs the order of mixtures right more than their values, with a
one-standard-error rule in the mixing law's favour (Breiman's rule for the simplest model): the
law is chosen when its Spearman is within one standard error of the best (on 16 noisy proxies
about ±0.1, on 512 rows about ±0.001), else the best. On few rows the fits tie within noise and
differ where it matters, away from the rows, where the optimum often is: the law extrapolates, a
tree ensemble stays flat. Only the law gets the benefit of the doubt: on a surface that is no law
(an interior bowl in one target) trees and the ensemble can tie with it no better than they rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import Field
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

from dataflow.config import StrictModel
from trainer.search.fits.candidates import feasible, sample_many
from trainer.search.fits.ensemble import RankEnsemble
from trainer.search.fits.mixing_law import MixingLaw

LOG_FLOOR = 1e-4
RIDGE = 1e-3
LOCAL_CONCENTRATION = 300.0
"""Dirichlet concentration of the local refinement around a good point: draws land a few points of
weight away from it."""
LOO_MAX_ROWS = 100
CV_FOLDS = 5
ENSEMBLE = "ensemble"
SMOOTHEST = "mixing-law"
"""The fit chosen when it ties with the best within a standard error."""


class FitConfig(StrictModel):
    """The regression from weights to score and the search of its surface."""

    surface_samples: int = Field(default=100_000, gt=0)
    """Feasible Dirichlet samples the fitted model scores when looking for the best mixture."""
    refine_rounds: int = Field(default=3, ge=0)
    """Rounds of local refinement around the best-predicted samples."""
    top_k: int = Field(default=32, gt=0)
    """The pick is the mean of the top_k predicted mixtures (RegMix averages its top 100): a fitted
    surface is noisy near its minimum, and a mean of feasible mixtures is feasible."""


@dataclass(frozen=True)
class Scores:
    """What the fits learn: the target per row, and the target datasets it weighs."""

    parts: np.ndarray
    """(rows, datasets): each target dataset's score per row."""
    part_weights: np.ndarray
    """(datasets,): the target is parts @ part_weights."""

    @classmethod
    def single(cls, target: np.ndarray) -> Scores:
        return cls(np.asarray(target, dtype=float)[:, None], np.ones(1))

    @property
    def target(self) -> np.ndarray:
        return self.parts @ self.part_weights

    def take(self, rows: np.ndarray) -> Scores:
        return Scores(self.parts[rows], self.part_weights)


class Regressor(Protocol):
    def fit(self, weights: np.ndarray, scores: Scores) -> Regressor: ...
    def predict(self, weights: np.ndarray) -> np.ndarray: ...


class LogLinear:
    """Ridge regression of the score on log-weights (intercept not penalised)."""

    def fit(self, weights: np.ndarray, scores: Scores) -> LogLinear:
        features, scores = self._features(weights), scores.target
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

    def fit(self, weights: np.ndarray, scores: Scores) -> LightGBM:
        import lightgbm

        scores = scores.target
        params = {"objective": "regression", "learning_rate": 0.01, "num_leaves": 8, "min_data_in_leaf": 2,
                  "min_sum_hessian_in_leaf": 0.0, "min_data_in_bin": 1, "seed": 0, "deterministic": True,
                  "num_threads": 1, "verbosity": -1}
        data = lightgbm.Dataset(weights, scores, params={"min_data_in_bin": 1, "verbosity": -1})
        self.booster = lightgbm.train(params, data, num_boost_round=1000)
        return self

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return self.booster.predict(np.atleast_2d(weights))


MODELS: dict[str, type] = {"lightgbm": LightGBM, "linear": LogLinear, "mixing-law": MixingLaw}
"""The fitted families; the ensemble of all of them is scored beside them."""


@dataclass(frozen=True)
class FitQuality:
    name: str
    cv_predictions: list[float]
    """Each row's score predicted by a model fitted without that row's fold."""
    cv_mae: float
    cv_rmse: float
    cv_spearman: float
    """Rank correlation of the cross-validated predictions with the observed scores: what picking needs."""


def folds(rows: int) -> tuple[str, list[np.ndarray]]:
    """Leave-one-out for small tables, else CV_FOLDS shuffled folds (fixed seed: reruns agree)."""
    if rows <= LOO_MAX_ROWS:
        return "leave-one-out", [np.array([row]) for row in range(rows)]
    return f"{CV_FOLDS}-fold", np.array_split(np.random.default_rng(0).permutation(rows), CV_FOLDS)


def fit_all(weights: np.ndarray, scores: Scores, shares: dict[str, float]) -> dict[str, Regressor]:
    """Every family fitted on these rows, and their ensemble with these member shares."""
    with threadpool_limits(limits=1):
        members = {name: model().fit(weights, scores) for name, model in MODELS.items()}
    return {**members, ENSEMBLE: RankEnsemble(members, shares).calibrate(weights, scores.target)}


def cross_validate(weights: np.ndarray, scores: Scores) -> tuple[str, dict[str, FitQuality], dict[str, float]]:
    """Every model's cross-validated quality, and the ensemble's member shares.

    The shares come from the members' cross-validated Spearman over all rows (`member_shares`), and
    the ensemble's held-out predictions use them: a slight optimism of the ensemble's own figure (3
    numbers learnt from the same folds) bought for one pass of fits instead of a nested one."""
    scheme, held_out = folds(len(scores.parts))
    target, rows = scores.target, np.arange(len(scores.parts))
    fitted = []
    predictions = {name: np.empty(len(target)) for name in [*MODELS, ENSEMBLE]}
    for held in held_out:
        rest = np.setdiff1d(rows, held)
        members = {name: model().fit(weights[rest], scores.take(rest)) for name, model in MODELS.items()}
        fitted.append((held, members))
        for name, model in members.items():
            predictions[name][held] = model.predict(weights[held])
    measured = {name: quality(name, predictions[name], target) for name in MODELS}
    shares = member_shares(measured)
    for held, members in fitted:
        rest = np.setdiff1d(rows, held)
        ensemble = RankEnsemble(members, shares).calibrate(weights[rest], target[rest])
        predictions[ENSEMBLE][held] = ensemble.predict(weights[held])
    measured[ENSEMBLE] = quality(ENSEMBLE, predictions[ENSEMBLE], target)
    return scheme, measured, shares


def member_shares(measured: dict[str, FitQuality]) -> dict[str, float]:
    """Each member's share of the ensemble: inversely proportional to its rank error 1 - Spearman, so a
    member that orders the held-out rows twice as well counts twice as much; none below 0 counts."""
    inverse = {name: 1 / max(1 - q.cv_spearman, 1e-3) if q.cv_spearman > 0 else 0.0 for name, q in measured.items()}
    total = sum(inverse.values()) or 1.0
    return {name: value / total for name, value in inverse.items()}


def quality(name: str, predictions: np.ndarray, observed: np.ndarray) -> FitQuality:
    errors = predictions - observed
    rho = spearmanr(predictions, observed).statistic if np.ptp(predictions) > 0 else float("nan")
    return FitQuality(name=name, cv_predictions=predictions.tolist(), cv_mae=float(np.abs(errors).mean()),
                      cv_rmse=float(np.sqrt((errors ** 2).mean())), cv_spearman=float(rho))


def choose(measured: dict[str, FitQuality], rows: int) -> str:
    """The one-standard-error rule on Spearman; the standard error is Fieller et al.'s (1957) for
    Spearman's rho through Fisher's z, sqrt(1.06 / (n - 3)), taken back to rho at the best."""
    rho = {name: float(np.nan_to_num(q.cv_spearman, nan=-1.0)) for name, q in measured.items()}
    best = max(rho, key=rho.get)
    error = (1 - rho[best] ** 2) * np.sqrt(1.06 / max(rows - 3, 1))
    return SMOOTHEST if rho[SMOOTHEST] >= rho[best] - error else best


@dataclass(frozen=True)
class Fit:
    chosen: str
    """The mixing law when its cross-validated Spearman is within a standard error of the best, else the best."""
    scheme: str
    """How it was cross-validated: `leave-one-out` or `N-fold`."""
    quality: dict[str, FitQuality]
    model: Regressor
    """The chosen model, refitted on every row."""
    shares: dict[str, float]
    """Each family's share of the ensemble."""


def fit_surface(weights: np.ndarray, scores: Scores | np.ndarray) -> Fit:
    scores = scores if isinstance(scores, Scores) else Scores.single(scores)
    if len(scores.parts) < 3:
        raise ValueError(f"a fit needs at least 3 scored mixtures, got {len(scores.parts)}")
    with threadpool_limits(limits=1):  # many small least-squares problems: threaded BLAS only thrashes
        scheme, measured, shares = cross_validate(weights, scores)
        chosen = choose(measured, len(scores.parts))
        model = (fit_all(weights, scores, shares)[ENSEMBLE] if chosen == ENSEMBLE
                 else MODELS[chosen]().fit(weights, scores))
    return Fit(chosen=chosen, scheme=scheme, quality=measured, model=model, shares=shares)


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
