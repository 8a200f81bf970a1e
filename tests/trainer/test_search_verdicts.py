"""The pick's verdicts weigh the margin against the seed noise and the evaluation standard error together
(trainer/search/fits/noise.py, the searches' one definition)."""

import math

import pytest

from trainer.search.fits.noise import difference_noise
from trainer.search.reports.mixture import _verdicts


def entry(mean, std, se):
    return {"target": [mean, std], "target_se": se, "seeds": 3}


def test_the_larger_eval_se_adds_in_quadrature_to_the_seed_noise():
    assert difference_noise(0.03, 3, 0.01, 3, eval_se=0.04) == pytest.approx(
        math.sqrt(0.03 ** 2 / 3 + 0.01 ** 2 / 3 + 0.04 ** 2))


def test_a_margin_wins_only_above_twice_the_noise():
    pick = entry(2.00, 0.006, 0.008)  # noise sqrt(0.006^2 / 3 + 0.008^2) = 0.0087
    comparison = {"predicted": pick, "natural": entry(2.03, 0.0, 0.0), "uniform": entry(2.015, 0.0, 0.0),
                  "best-sampled": {"skipped": "no run finished"}}
    natural, uniform, best = _verdicts(comparison)
    assert natural.startswith("the pick beats natural by 0.0300") and "± 0.0087, eval SE 0.0080" in natural
    assert uniform.startswith("the pick does NOT beat uniform: margin +0.0150")  # above the noise, not twice it
    assert best == "best-sampled: no comparison (no run finished)"


def test_tables_without_a_standard_error_compare_on_the_seed_noise_alone():
    pick, base = {"target": [2.0, 0.01], "seeds": 3}, {"target": [2.05, 0.02], "seeds": 3}
    (verdict,) = _verdicts({"predicted": pick, "natural": base, "uniform": {"skipped": "-"},
                            "best-sampled": {"skipped": "-"}})[:1]
    assert verdict.startswith("the pick beats natural by 0.0500") and "eval SE 0.0000" in verdict
