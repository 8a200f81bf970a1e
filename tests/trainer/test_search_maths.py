"""Candidate sampling, and bad input refused before any run (the fit and the surface search against a known
optimum: test_search_planted.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from conftest import write_source
from search_sources import PROXY_TRAIN, search_file, write_sources

from dataflow.errors import ConfigError, UserError
from trainer.search.fits.candidates import feasible, sample_feasible
from trainer.search.searches.mixture import run_mixture_search
from trainer.search.searches.mixture_config import load_mixture_config


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("search-maths"))


def test_candidates_stay_in_the_feasible_region_and_rejections_are_counted():
    limits = np.array([0.2, 1.0, 0.5])
    draws = sample_feasible(np.array([0.1, 0.6, 0.3]), limits, 200, [0.3, 1, 3, 10], np.random.default_rng(0))
    assert draws.weights.shape == (200, 3) and feasible(draws.weights, limits).all()
    assert np.allclose(draws.weights.sum(1), 1) and draws.rejected > 0
    again = sample_feasible(np.array([0.1, 0.6, 0.3]), limits, 200, [0.3, 1, 3, 10], np.random.default_rng(0))
    assert np.array_equal(draws.weights, again.weights)  # fixed by the seed: --resume plans the same runs
    # both near-prior and extreme mixtures: the largest share of some candidates is above 0.9
    assert draws.weights[:, 1].max() > 0.9 and draws.weights.min() < 0.01


@pytest.mark.parametrize("change, message", [
    ({"prior": {"web": 0.05, "wiki": 0.9, "books": 0.05}},
     "prior: source 'wiki' at weight 0.9 would be read 4.33 times at final_run.total_tokens 40,000"),
    ({"target": {"wiki": 0.5, "nowhere": 0.5}}, "target.nowhere: not a source (books, web, wiki)"),
    ({"backend": {"kind": "slurm"}}, "backend.kind is slurm but `sbatch` is not on PATH"),
    ({"proxy": {"preset": "gpt-0", "train": PROXY_TRAIN}}, "proxy.preset: unknown preset 'gpt-0'"),
    ({"final_run": {"total_tokens": 10**6}}, "no mixture of the sources is feasible"),
])
def test_bad_search_file_is_one_line_naming_the_field_before_any_run(sources, tmp_path, change, message):
    config = load_mixture_config(search_file(tmp_path / "s.yaml", sources, tmp_path / "out", **change))
    with pytest.raises(UserError, match=re.escape(message)) as err:
        run_mixture_search(config)
    assert "\n" not in str(err.value) and not (tmp_path / "out" / "runs").exists()


def test_source_that_is_not_a_token_source_is_refused(sources, tmp_path):
    (tmp_path / "docs").mkdir()
    config = load_mixture_config(search_file(tmp_path / "s.yaml", {**sources, "web": tmp_path / "docs"},
                                            tmp_path / "out"))
    with pytest.raises(ConfigError, match=r"sources\.web\.path: .*docs has no train split .* not a token source"):
        run_mixture_search(config)


def test_target_naming_a_source_without_validation_split_is_refused(sources, tmp_path):
    books = write_source(tmp_path / "books", "books", seed=5)
    for file in (books / "validation").iterdir():
        file.unlink()
    (books / "validation").rmdir()
    config = load_mixture_config(search_file(tmp_path / "s.yaml", {**sources, "books": books}, tmp_path / "out"))
    with pytest.raises(ConfigError, match=r"target\.books: .* has no validation split"):
        run_mixture_search(config)


def test_sources_made_with_different_tokenizers_are_refused(sources, tmp_path):
    other = write_source(tmp_path / "books", "books", seed=5, tokenizer_text="another tokenizer")
    config = load_mixture_config(search_file(tmp_path / "s.yaml", {**sources, "books": other}, tmp_path / "out",
                                            target={"wiki": 1.0}))
    with pytest.raises(ConfigError, match=r"sources\.books was tokenised with .* token ids of different tokenizers"):
        run_mixture_search(config)


def test_unknown_key_in_search_file_names_it(sources, tmp_path):
    path = search_file(tmp_path / "s.yaml", sources, tmp_path / "out")
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "candiates": 3}))
    with pytest.raises(ConfigError, match="unknown key 'candiates'"):
        load_mixture_config(path)
