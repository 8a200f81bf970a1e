"""The pick's verdicts weigh the margin against the seed std and the evaluation standard error together."""

from trainer.search.report import _verdicts, noise


def entry(mean, std, se):
    return {"target": [mean, std], "target_se": se, "seeds": 3}


def test_noise_adds_the_larger_seed_std_and_the_larger_eval_se_in_quadrature():
    assert noise(entry(2.0, 0.03, 0.01), entry(2.1, 0.01, 0.04)) == (0.05, 0.03, 0.04)


def test_a_margin_wins_only_above_twice_the_noise():
    pick = entry(2.00, 0.006, 0.008)  # noise 0.01
    comparison = {"predicted": pick, "natural": entry(2.03, 0.0, 0.0), "uniform": entry(2.015, 0.0, 0.0),
                  "best-sampled": {"skipped": "no run finished"}}
    natural, uniform, best = _verdicts(comparison)
    assert natural.startswith("the pick beats natural by 0.0300") and "seed std 0.0060, eval SE 0.0080" in natural
    assert uniform.startswith("the pick does NOT beat uniform: margin +0.0150")  # above the noise, not twice it
    assert best == "best-sampled: no comparison (no run finished)"


def test_tables_without_a_standard_error_compare_on_the_seed_std_alone():
    pick, base = {"target": [2.0, 0.01], "seeds": 3}, {"target": [2.05, 0.02], "seeds": 3}
    assert noise(pick, base) == (0.02, 0.02, 0.0)
