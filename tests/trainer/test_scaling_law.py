"""Scaling-law maths on synthetic losses with planted constants (Chinchilla's published fit)."""

import numpy as np
import pytest

from dataflow.errors import ConfigError
from trainer.search.fits.data_constrained import (
    constrained_optimum,
    effective_tokens,
    fresh_optimum,
    mixture_effective_tokens,
)
from trainer.search.fits.lr_law import SizeOptimum, fit_lr_law, size_optimum
from trainer.search.fits.rank_transfer import rank_transfer
from trainer.search.fits.scaling_law import (
    ScalingLaw,
    bootstrap,
    compute_frontier,
    fit_compute_law,
    fit_scaling_law,
    prediction_error,
)

CHINCHILLA = ScalingLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
"""Hoffmann et al. 2022, equation 10."""
SIZES = np.repeat([1e6, 3e6, 1e7, 3e7, 1e8], 4)
TOKENS = np.tile([2e7, 6e7, 2e8, 6e8], 5)


def test_fit_recovers_planted_constants_within_one_percent():
    law = fit_scaling_law(SIZES, TOKENS, CHINCHILLA.loss(SIZES, TOKENS))
    for name, planted in CHINCHILLA.as_dict().items():
        assert law.as_dict()[name] == pytest.approx(planted, rel=0.01), name


def test_bootstrap_intervals_cover_planted_constants_under_noise():
    noisy = CHINCHILLA.loss(SIZES, TOKENS) * np.exp(np.random.default_rng(0).normal(0, 0.002, len(SIZES)))
    law = fit_scaling_law(SIZES, TOKENS, noisy)
    intervals = bootstrap(SIZES, TOKENS, noisy, law, samples=40, seed=0, level=0.95)
    assert set(intervals) == {"E", "A", "B", "alpha", "beta"}
    for name in ("alpha", "beta"):  # tolerance: the planted value within one interval width of the interval
        low, high = intervals[name]
        assert low <= getattr(law, name) <= high
        assert low - (high - low) <= getattr(CHINCHILLA, name) <= high + (high - low), (name, intervals[name])


@pytest.mark.parametrize("sizes, tokens, message", [
    ([1e6] * 4, [1e7, 2e7, 4e7, 8e7], "at least 2 model sizes and 2 token budgets; the grid has 1 size"),
    ([1e6, 2e6, 4e6, 8e6], [1e7] * 4, "and 1 budget(s)"),
    ([1e6, 2e6, 4e6, 8e6, 1.6e7, 3.2e7], [2e7, 4e7, 8e7, 1.6e8, 3.2e8, 6.4e8], "vary apart from model size"),
])
def test_degenerate_grid_is_refused_with_what_to_add(sizes, tokens, message):
    with pytest.raises(ConfigError, match="scaling fit") as err:
        fit_scaling_law(np.array(sizes), np.array(tokens), np.full(len(sizes), 3.0))
    assert message in str(err.value)


def test_compute_optimum_minimises_loss_along_the_iso_flop_line():
    compute = 1e21
    best = CHINCHILLA.optimal_params(compute)
    around = best * np.array([0.8, 1.0, 1.25])
    losses = CHINCHILLA.loss(around, compute / (6 * around))
    assert np.argmin(losses) == 1
    # Chinchilla's own fit gives ~20 tokens per parameter in this compute range
    assert 15 < CHINCHILLA.tokens_per_param(compute) < 60


def test_loss_against_compute_is_fitted_on_the_frontier():
    compute = 6 * SIZES * TOKENS
    losses = CHINCHILLA.loss(SIZES, TOKENS)
    frontier = compute_frontier(compute, losses)
    assert np.all(np.diff(losses[frontier]) < 0) and np.all(np.diff(compute[frontier]) >= 0)
    law = fit_compute_law(compute, losses)
    relative = np.abs(law.loss(compute[frontier]) / losses[frontier] - 1)
    assert relative.max() < 0.05 and 0 < law.gamma < 0.5


def test_held_out_run_is_predicted_with_its_error():
    keep = np.arange(len(SIZES)) != 19
    law = fit_scaling_law(SIZES[keep], TOKENS[keep], CHINCHILLA.loss(SIZES[keep], TOKENS[keep]))
    observed = float(CHINCHILLA.loss(SIZES[19], TOKENS[19]))
    error = prediction_error(law, SIZES[19], TOKENS[19], observed)
    assert error["observed"] == observed and abs(error["relative_error"]) < 1e-3


def test_effective_tokens_follow_muennighoff_decay():
    assert effective_tokens(5e9, 1e10) == 5e9  # under one epoch every token is fresh
    four_epochs = effective_tokens(4e10, 1e10)
    assert 0.9 * 4e10 < four_epochs < 4e10  # ~4 epochs are nearly as good as fresh
    assert effective_tokens(1e13, 1e10) == pytest.approx(1e10 * (1 + 15.4))  # value saturates at U (1 + R*)
    assert mixture_effective_tokens(2e10, {"a": 0.5, "b": 0.5}, {"a": 1e12, "b": 1e9}) == pytest.approx(
        1e10 + effective_tokens(1e10, 1e9))


def test_scarce_data_moves_the_optimum_to_more_parameters():
    compute = 1e21
    plenty, scarce = {"web": 1e13}, {"web": 2e9}
    fresh = fresh_optimum(CHINCHILLA, compute, {"web": 1.0}, scarce)
    constrained = constrained_optimum(CHINCHILLA, compute, {"web": 1.0}, scarce)
    assert constrained_optimum(CHINCHILLA, compute, {"web": 1.0}, plenty).params == pytest.approx(fresh.params,
                                                                                                  rel=1e-3)
    assert constrained.params > 1.2 * fresh.params and constrained.predicted_loss < fresh.predicted_loss
    assert fresh.epochs["web"] > constrained.epochs["web"] > 1


def test_learning_rate_optimum_is_a_power_law_of_size():
    lrs = np.array([1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2])
    optima = []
    for params in (1e5, 1e6, 1e7):
        planted = 0.5 * params ** -0.35
        optimum = size_optimum(params, lrs * planted / 4e-3, 3 + (np.log(lrs / 4e-3)) ** 2)
        assert not optimum.at_edge and optimum.lr == pytest.approx(planted, rel=1e-6)
        optima.append(optimum)
    law = fit_lr_law(optima)
    assert law.exponent == pytest.approx(0.35, rel=1e-6) and law.lr(1e8) == pytest.approx(0.5 * 1e8 ** -0.35)


def test_learning_rate_at_the_edge_of_the_sweep_is_flagged():
    optimum = size_optimum(1e6, np.array([1e-3, 2e-3, 4e-3]), np.array([3.0, 2.9, 2.8]))
    assert optimum.at_edge and optimum.lr == 4e-3
    with pytest.raises(ConfigError, match="2 or more model sizes"):
        fit_lr_law([SizeOptimum(1e6, 1e-3, 3.0, False)])


def test_rank_transfer_is_spearman_over_shared_mixtures():
    small = {"a": 3.0, "b": 3.1, "c": 3.2, "d": 3.3, "only-small": 2.0}
    assert rank_transfer(small, {"a": 2.0, "b": 2.1, "c": 2.2, "d": 2.3}).spearman == pytest.approx(1.0)
    flipped = rank_transfer(small, {"a": 2.3, "b": 2.2, "c": 2.1, "d": 2.0})
    assert flipped.spearman == pytest.approx(-1.0) and flipped.mixtures == ["a", "b", "c", "d"]
    with pytest.raises(ConfigError, match="3 or more mixtures scored at both scales; 2"):
        rank_transfer(small, {"a": 1.0, "b": 2.0})
