"""A bad search file fails when it is loaded, before the first proxy run, with a line naming the field:
weights that are zero, negative, NaN or infinite, too few candidates for the fit, NaN or negative
priors and concentrations. A count written `2e9` (a string to YAML 1.1) is read as the number it is."""

from __future__ import annotations

import math

import pytest
import yaml
from search_sources import search_file
from sweep_files import mixture_file, sweep_file

import cli
from dataflow.errors import ConfigError
from dataflow.mix.mixture import load_mixture
from trainer.search.searches.hparams import load_hparam_config
from trainer.search.searches.mixture_config import load_mixture_config
from trainer.search.searches.scaling import load_scaling_config
from trainer.search.searches.variants import load_variant_config

NAN, INF = float("nan"), float("inf")
SOURCES = {"web": "tokens/web", "wiki": "tokens/wiki", "books": "tokens/books"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"target": {"wiki": 0.0, "books": 0.5}}, "target: weight wiki"),
    ({"target": {"wiki": -0.5, "books": 0.5}}, "target: weight wiki"),
    ({"target": {"wiki": NAN, "books": 0.5}}, "target: weight wiki"),
    ({"target": {"wiki": INF, "books": 0.5}}, "target: weight wiki"),
    ({"target": {"wiki": 0.5, "test": {"path": "tokens/test", "weight": NAN}}}, "target.test"),
    ({"candidates": 2}, "candidates"),
    ({"prior": {"web": NAN, "wiki": 1.0, "books": 1.0}}, "prior: weight web"),
    ({"prior": {"web": 0.0, "wiki": 1.0, "books": 1.0}}, "prior: weight web"),
    ({"concentrations": [1.0, NAN]}, "concentrations.1"),
    ({"concentrations": [-1.0, 3.0]}, "concentrations.0"),
])
def test_bad_mixture_search_fields_fail_at_load_naming_the_field(tmp_path, overrides, field):
    path = search_file(tmp_path / "search.yaml", SOURCES, tmp_path / "mix1", **overrides)
    with pytest.raises(ConfigError, match=rf"{field}\b"):
        load_mixture_config(path)


def test_a_zero_target_weight_stops_the_cli_before_any_run(tmp_path, capsys):
    path = search_file(tmp_path / "search.yaml", SOURCES, tmp_path / "mix1", target={"wiki": 0, "books": 1})
    assert cli.main(["search", "mixture", "--config", str(path)]) != 0
    error = capsys.readouterr().err.strip()
    assert "target: weight wiki=0" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "mix1").exists()


def test_counts_in_scientific_notation_are_numbers(tmp_path):
    path = search_file(tmp_path / "search.yaml", SOURCES, tmp_path / "mix1")
    text = path.read_text().replace("total_tokens: 40000", "total_tokens: 2e9").replace("total_tokens: 1024",
                                                                                          "total_tokens: 2E+6")
    path.write_text(text)
    config = load_mixture_config(path)
    assert config.final_run.total_tokens == 2_000_000_000 and config.proxy.total_tokens == 2_000_000
    assert isinstance(config.final_run.total_tokens, int)


def test_a_count_with_a_fraction_is_still_refused(tmp_path):
    path = search_file(tmp_path / "search.yaml", SOURCES, tmp_path / "mix1")
    path.write_text(path.read_text().replace("total_tokens: 40000", "total_tokens: 2.5e0"))
    with pytest.raises(ConfigError, match="final_run.total_tokens"):
        load_mixture_config(path)


@pytest.mark.parametrize("weight", [INF, NAN])
def test_a_mixture_weight_must_be_a_real_number(tmp_path, weight):
    """An infinite weight made every share NaN and the planned token counts negative."""
    path = mixture_file(tmp_path / "mix.yaml", SOURCES, {"web": weight, "wiki": 1.0})
    with pytest.raises(ConfigError, match="sources.web.weight"):
        load_mixture(path)


def test_a_mixture_budget_in_scientific_notation_is_a_number(tmp_path):
    path = mixture_file(tmp_path / "mix.yaml", SOURCES)
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "total_tokens": 0}).replace("total_tokens: 0", "total_tokens: 2e9"))
    assert load_mixture(path).total_tokens == 2_000_000_000


def test_other_search_files_refuse_nan_and_negative_values(tmp_path):
    mixture = tmp_path / "mix.yaml"
    cases = [
        (load_variant_config, {"base_tokens": 512, "branch_tokens": 256, "variants": {"v": {"weights": {"web": NAN}}}},
         "variants.v.weights.web"),
        (load_scaling_config, {"tokens": [512, -1]}, "tokens.1"),
        (load_scaling_config, {"tokens": [512], "compute": [INF]}, "compute.0"),
        (load_hparam_config, {"tokens": 512, "lrs": [1e-3, NAN]}, "lrs.1"),
        (load_scaling_config, {"tokens": [512], "target": {"web": 0}}, "target"),
        (load_hparam_config, {"tokens": 512, "target": {"web": NAN}}, "target"),
    ]
    for load, fields, field in cases:
        with pytest.raises(ConfigError, match=rf"{field}\b"):
            load(sweep_file(tmp_path / "s.yaml", mixture, tmp_path / "s", **fields))
    assert math.isnan(NAN)
