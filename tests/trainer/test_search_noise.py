"""The searches' one definition of "beyond seed noise" (trainer/search/fits/noise.py)."""

import math

import numpy as np
import pytest

from trainer.search.fits.noise import beyond_noise, difference_noise
from trainer.search.reports.mixture import _verdicts


def test_noise_is_the_standard_error_of_the_difference_of_means():
    a, b = [2.60, 2.61, 2.59], [2.80, 2.84, 2.79, 2.81]
    expected = math.sqrt(np.var(a, ddof=1) / 3 + np.var(b, ddof=1) / 4)
    assert difference_noise(float(np.std(a, ddof=1)), 3, float(np.std(b, ddof=1)), 4) == pytest.approx(expected)


def test_beyond_noise_means_more_than_two_standard_errors_and_never_with_unknown_noise():
    assert beyond_noise(-0.21, 0.1) and not beyond_noise(0.2, 0.1)
    assert difference_noise(0.01, 1, 0.01, 3) is None and not beyond_noise(5.0, None)


def test_more_seeds_can_settle_a_close_call_that_the_same_spread_over_fewer_seeds_cannot():
    assert not beyond_noise(0.02, difference_noise(0.02, 2, 0.02, 2))
    assert beyond_noise(0.02, difference_noise(0.02, 10, 0.02, 10))


def test_mixture_report_verdicts_use_it():
    pick = {"seeds": 3, "target": [2.600, 0.002]}
    comparison = {"predicted": pick, "natural": {"seeds": 3, "target": [2.809, 0.030]},
                  "uniform": {"seeds": 3, "target": [2.583, 0.008]}, "best-sampled": {"seeds": 1, "target": [2.7, 0.0]}}
    natural, uniform, best = _verdicts(comparison)
    assert natural.startswith("the pick beats natural by 0.2090")
    assert uniform.startswith("the pick does NOT beat uniform: margin -0.0170")
    assert "seed noise unknown" in best
