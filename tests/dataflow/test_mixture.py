"""Mixture maths: tokens and epochs per source, refusals that name the source, the draw schedule."""

import numpy as np
import pytest
import yaml

from dataflow.errors import ConfigError
from dataflow.mix.mixture import (Mixture, SourceSchedule, apportion, load_mixture, open_sources, plan_mixture,
                              window_order)


def mixture(**weights_and_epochs) -> Mixture:
    sources = {name: {"path": f"tokens/{name}", "weight": weight, "max_epochs": epochs}
               for name, (weight, epochs) in weights_and_epochs.items()}
    return Mixture(name="m", total_tokens=1000, sources=sources)


def test_plan_gives_tokens_summing_to_the_budget_and_the_implied_epochs():
    plan = plan_mixture(mixture(web=(0.7, 1), wiki=(0.2, 4), books=(0.1, 2)),
                        {"web": 800, "wiki": 100, "books": 1000})
    assert {name: p.tokens for name, p in plan.items()} == {"web": 700, "wiki": 200, "books": 100}
    assert {name: p.epochs for name, p in plan.items()} == {"web": 0.875, "wiki": 2.0, "books": 0.1}


def test_source_needing_more_than_max_epochs_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"source 'wiki' would be read 2 times .* above its max_epochs 1"):
        plan_mixture(mixture(web=(0.8, 1), wiki=(0.2, 1)), {"web": 1000, "wiki": 100})


def test_empty_source_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"source 'wiki' would be read inf times"):
        plan_mixture(mixture(web=(0.8, 1), wiki=(0.2, 9)), {"web": 1000, "wiki": 0})


def test_budget_override_is_what_the_epochs_are_checked_against():
    m = mixture(web=(1.0, 1))
    assert plan_mixture(m, {"web": 500}, total_tokens=500)["web"].epochs == 1.0
    with pytest.raises(ConfigError, match="would be read 2 times"):
        plan_mixture(m, {"web": 500})


def test_weights_not_summing_to_one_are_normalised_with_a_warning():
    with pytest.warns(UserWarning, match="weights sum to 4, not 1; using shares web 0.75, wiki 0.25"):
        m = mixture(web=(3, 1), wiki=(1, 1))
    assert m.shares == {"web": 0.75, "wiki": 0.25}


def test_apportion_rounds_by_largest_remainder():
    assert apportion(10, np.array([1 / 3, 1 / 3, 1 / 3])).tolist() == [4, 3, 3]
    assert apportion(7, np.array([0.5, 0.25, 0.25])).tolist() == [3, 2, 2]


def test_missing_source_path_is_refused_by_name(tmp_path):
    m = Mixture(name="m", total_tokens=10, sources={"wiki": {"path": str(tmp_path / "nope"), "weight": 1}})
    with pytest.raises(ConfigError, match=r"source 'wiki' path .*nope does not exist"):
        open_sources(m, "train")


def test_unknown_key_in_mixture_file_is_named(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(yaml.safe_dump({"name": "m", "total_tokens": 10,
                                    "sources": {"web": {"path": "x", "weight": 1, "epochs": 2}}}))
    with pytest.raises(ConfigError, match="unknown key 'sources.web.epochs'"):
        load_mixture(path)


SHARES = {"web": 0.7, "wiki": 0.2, "books": 0.0999, "code": 0.0001}


def test_realised_shares_stay_within_a_few_sequences_of_target_at_every_prefix():
    schedule = SourceSchedule(SHARES, seed=7)
    sources, _ = schedule.draws(0, 50_000)
    onehot = np.eye(len(SHARES))[sources]
    prefix_counts = np.cumsum(onehot, axis=0)
    shares = np.array(list(SHARES.values()))
    targets = np.arange(1, 50_001)[:, None] * shares
    assert np.all(np.abs(prefix_counts - targets).max(axis=0) <= 1 + len(SHARES) * shares)
    assert prefix_counts[-1].tolist() == [35_000, 10_000, 4_995, 5]


def test_draw_numbers_count_up_per_source_and_ranges_compose():
    schedule = SourceSchedule(SHARES, seed=7)
    sources, ordinals = schedule.draws(1000, 3000)
    for index in range(len(SHARES)):
        mine = ordinals[sources == index]
        assert np.array_equal(mine, np.arange(mine[0], mine[0] + len(mine))) if len(mine) else True
    parts = [schedule.draws(a, b) for a, b in [(1000, 1001), (1001, 2500), (2500, 3000)]]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), sources)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), ordinals)
    assert np.array_equal(schedule.counts(3000), np.bincount(schedule.draws(0, 3000)[0], minlength=4))


def test_schedule_is_fixed_by_the_seed():
    first = SourceSchedule(SHARES, seed=1).draws(0, 500)[0]
    assert np.array_equal(first, SourceSchedule(SHARES, seed=1).draws(0, 500)[0])
    assert not np.array_equal(first, SourceSchedule(SHARES, seed=2).draws(0, 500)[0])


def test_each_epoch_reads_every_window_once_in_its_own_order():
    epoch0, epoch1 = (window_order(3, "web", epoch, 100) for epoch in (0, 1))
    assert sorted(epoch0) == sorted(epoch1) == list(range(100))
    assert not np.array_equal(epoch0, epoch1)
    assert np.array_equal(epoch0, window_order(3, "web", 0, 100))
