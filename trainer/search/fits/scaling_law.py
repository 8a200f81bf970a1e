"""Scaling laws fitted to proxy runs: L(N, D) = E + A/N^α + B/D^β, and loss against compute.

Hoffmann et al. (2022, "Training Compute-Optimal Large Language Models", approach 3, appendix
D.2) fit the five constants by minimising the Huber loss (δ = 1e-3) of the residuals in log
space,

    Σ_i Huber_δ( LSE(a − α·log N_i, b − β·log D_i, e) − log L_i ),   A = e^a, B = e^b, E = e^e,

with L-BFGS from a grid of starting points, keeping the best; the Huber loss makes the fit
robust to a few outlying runs. Their grid has 4,500 starts (a, b in 0..25 by 5, e in -1..1 by
0.5, α, β in 0..2 by 0.5), about 80 s of one core here; ours spans the same ranges with 432
(`*_STARTS`), about 2 s, and recovers planted constants to 1% (tests/trainer/test_scaling_law.py). Their intervals come
from bootstrapping the runs; so do ours, on every constant (`bootstrap`). Under C = 6·N·D the compute-optimal split is
closed-form (their equation 4):

    N_opt(C) = G·(C/6)^(β/(α+β)),  D_opt(C) = G⁻¹·(C/6)^(α/(α+β)),  G = (α·A / (β·B))^(1/(α+β)),

so the tokens per parameter D_opt/N_opt depend on C unless α = β, and are reported at a
stated compute. `fit_compute_law` fits L(C) = E + K/C^γ, the same Huber/LSE machinery with
one term, to the compute frontier of the runs (the best loss reached at or below each compute).

Losses may be in nats per token or bits per byte of a fixed evaluation set: the two differ
by a constant factor, which moves E, A, B and K and leaves α, β and γ unchanged.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from threadpoolctl import threadpool_limits

from dataflow.errors import ConfigError

HUBER_DELTA = 1e-3
"""Hoffmann et al.'s δ: residuals of log-loss larger than this count linearly, not quadratically."""
EXPONENT_STARTS = (0.2, 0.8, 2.0)
"""Starting values of α, β (and γ), across Hoffmann et al.'s range 0..2."""
LOG_E_STARTS = (-1.0, 0.0, 1.0)
"""Starting values of e = log E, Hoffmann et al.'s range -1..1."""
LOG_COEFF_STARTS = (0.0, 8.0, 16.0, 25.0)
"""Starting values of a = log A and b = log B, Hoffmann et al.'s range 0..25."""
CONSTANTS = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class ScalingLaw:
    """L(N, D) = E + A / N^alpha + B / D^beta."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, params: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray:
        return self.E + self.A / np.power(params, self.alpha) + self.B / np.power(tokens, self.beta)

    def optimal_params(self, compute: np.ndarray | float) -> np.ndarray:
        """N_opt(C) under C = 6·N·D (Hoffmann et al. equation 4)."""
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        return g * np.power(np.asarray(compute, dtype=float) / 6, self.beta / (self.alpha + self.beta))

    def optimal_tokens(self, compute: np.ndarray | float) -> np.ndarray:
        return np.asarray(compute, dtype=float) / (6 * self.optimal_params(compute))

    def tokens_per_param(self, compute: float) -> float:
        """Compute-optimal D/N at compute C for this data (Chinchilla's ~20 is for MassiveText)."""
        return float(self.optimal_tokens(compute) / self.optimal_params(compute))

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in CONSTANTS}


@dataclass(frozen=True)
class ComputeLaw:
    """L(C) = E + K / C^gamma, fitted to the compute frontier."""

    E: float
    K: float
    gamma: float

    def loss(self, compute: np.ndarray | float) -> np.ndarray:
        return self.E + self.K / np.power(compute, self.gamma)


def check_grid(params: np.ndarray, tokens: np.ndarray) -> None:
    """Refuse a grid from which L(N, D) cannot be identified, saying what to add."""
    sizes, budgets = np.unique(params), np.unique(tokens)
    if len(sizes) < 2 or len(budgets) < 2:
        raise ConfigError(f"a scaling fit needs at least 2 model sizes and 2 token budgets; the grid has "
                          f"{len(sizes)} size(s) ({', '.join(f'{n:.3g}' for n in sizes)}) and {len(budgets)} "
                          f"budget(s) ({', '.join(f'{d:.3g}' for d in budgets)}): add sizes or budgets")
    design = np.column_stack([np.ones(len(params)), np.log(params), np.log(tokens)])
    if np.linalg.matrix_rank(design) < 3:
        raise ConfigError("a scaling fit needs token budgets that vary apart from model size: every size was "
                          "trained on its own single budget in lockstep, so N and D cannot be told apart; "
                          "train at least one size at 2 budgets")
    if len(params) < len(CONSTANTS) + 1:
        raise ConfigError(f"a scaling fit of {len(CONSTANTS)} constants needs at least {len(CONSTANTS) + 1} "
                          f"finished runs; {len(params)} given")


def fit_scaling_law(params: np.ndarray, tokens: np.ndarray, losses: np.ndarray) -> ScalingLaw:
    """Hoffmann et al. approach 3: Huber on log-loss residuals, L-BFGS-B from their grid of starts."""
    params, tokens, losses = (np.asarray(v, dtype=float) for v in (params, tokens, losses))
    check_grid(params, tokens)
    starts = [np.array([a, b, e, alpha, beta]) for a, b, e, alpha, beta in itertools.product(
        LOG_COEFF_STARTS, LOG_COEFF_STARTS, LOG_E_STARTS, EXPONENT_STARTS, EXPONENT_STARTS)]
    a, b, e, alpha, beta = _fit_lse([np.log(params), np.log(tokens)], np.log(losses), starts)
    return ScalingLaw(E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=float(alpha), beta=float(beta))


def bootstrap(params: np.ndarray, tokens: np.ndarray, losses: np.ndarray, law: ScalingLaw, *, samples: int,
              seed: int, level: float = 0.9) -> dict[str, tuple[float, float]]:
    """Percentile interval at `level` of every constant, over fits to runs resampled with replacement.

    Each resample starts from the full fit's constants (and the grid's exponent corners), which keeps
    the hundreds of refits cheap; resamples that lose a size or a budget are drawn again.
    """
    params, tokens, losses = (np.asarray(v, dtype=float) for v in (params, tokens, losses))
    rng = np.random.default_rng(seed)
    best = np.array([np.log(law.A), np.log(law.B), np.log(law.E), law.alpha, law.beta])
    starts = [best] + [np.array([best[0], best[1], best[2], alpha, beta])
                       for alpha, beta in itertools.product((0.2, 0.8), repeat=2)]
    fits = []
    while len(fits) < samples:
        pick = rng.integers(0, len(params), len(params))
        if len(np.unique(params[pick])) < 2 or len(np.unique(tokens[pick])) < 2:
            continue
        a, b, e, alpha, beta = _fit_lse([np.log(params[pick]), np.log(tokens[pick])], np.log(losses[pick]), starts)
        fits.append([np.exp(e), np.exp(a), np.exp(b), alpha, beta])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.array(fits), [tail, 100 - tail], axis=0)
    return {name: (float(lo), float(hi)) for name, lo, hi in zip(CONSTANTS, low, high)}


def compute_frontier(compute: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """Indices of the runs on the frontier: lower loss than every run of less or equal compute."""
    order = np.lexsort((losses, compute))
    frontier, best = [], np.inf
    for index in order:
        if losses[index] < best:
            frontier.append(index)
            best = losses[index]
    return np.array(frontier, dtype=int)


def fit_compute_law(compute: np.ndarray, losses: np.ndarray) -> ComputeLaw:
    """L(C) = E + K / C^gamma on the compute frontier (needs 3 or more frontier runs)."""
    compute, losses = np.asarray(compute, dtype=float), np.asarray(losses, dtype=float)
    frontier = compute_frontier(compute, losses)
    if len(frontier) < 3:
        raise ConfigError(f"loss against compute needs 3 or more runs on the compute frontier; "
                          f"{len(frontier)} found: add runs at larger compute")
    starts = [np.array([k, e, gamma]) for k, e, gamma in itertools.product(LOG_COEFF_STARTS, LOG_E_STARTS,
                                                                             EXPONENT_STARTS)]
    k, e, gamma = _fit_lse([np.log(compute[frontier])], np.log(losses[frontier]), starts)
    return ComputeLaw(E=float(np.exp(e)), K=float(np.exp(k)), gamma=float(gamma))


def prediction_error(law: ScalingLaw, params: float, tokens: float, observed: float) -> dict[str, float]:
    """What the fit predicts for a held-out run, and its error (absolute and relative)."""
    predicted = float(law.loss(params, tokens))
    return {"predicted": predicted, "observed": float(observed), "error": predicted - float(observed),
            "relative_error": (predicted - float(observed)) / float(observed)}


def _fit_lse(features: list[np.ndarray], log_loss: np.ndarray, starts: list[np.ndarray]) -> np.ndarray:
    """Minimise Σ Huber(LSE(c_k − x_k·f_k ..., e) − log L) from each start; the best solution.

    Parameters are laid out as [c_1 .. c_K, e, x_1 .. x_K] for K features (log N, log D or log C).
    """
    count = len(features)
    stacked = np.stack(features)  # (K, runs)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coeffs, e, exponents = theta[:count], theta[count], theta[count + 1:]
        terms = np.vstack([coeffs[:, None] - exponents[:, None] * stacked, np.full(len(log_loss), e)])  # (K+1, runs)
        residual = logsumexp(terms, axis=0) - log_loss
        quadratic = np.abs(residual) <= HUBER_DELTA
        loss = np.where(quadratic, 0.5 * residual**2, HUBER_DELTA * (np.abs(residual) - 0.5 * HUBER_DELTA)).sum()
        slope = np.clip(residual, -HUBER_DELTA, HUBER_DELTA) * softmax(terms, axis=0)  # d loss / d term
        gradient = np.concatenate([slope[:count].sum(axis=1), [slope[count].sum()],
                                   -(slope[:count] * stacked).sum(axis=1)])
        return float(loss), gradient

    bounds = [(None, None)] * (count + 1) + [(0.0, None)] * count
    best = None
    # Thousands of tiny problems: BLAS threads only contend (measured 20x slower on a busy 2-core machine).
    with threadpool_limits(limits=1):
        for start in starts:
            solution = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
            if best is None or solution.fun < best.fun:
                best = solution
    return best.x
