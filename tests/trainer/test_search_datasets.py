"""A search records the token datasets it starts with, and a --resume on re-tokenised data is refused
before any run, naming the dataset and the fix."""

from __future__ import annotations

import json

import pytest
from conftest import write_source
from search_sources import search_file, write_sources
from sweep_files import mixture_file, sweep_file

from dataflow.errors import ConfigError
from trainer.search.engine.layout import DATASETS
from trainer.search.searches.mixture import run_mixture_search
from trainer.search.searches.mixture_config import load_mixture_config
from trainer.search.searches.mixture_inputs import check_same_datasets, check_same_mixture_datasets, read_inputs
from trainer.search.searches.scaling import load_scaling_config, run_scaling_search


def started_search(tmp_path):
    """A search folder as a first start leaves it (the datasets record), its sources and config."""
    sources = write_sources(tmp_path / "tokens")
    config = load_mixture_config(search_file(tmp_path / "search.yaml", sources, tmp_path / "mix1"))
    check_same_datasets(tmp_path / "mix1", read_inputs(config).manifests, resume=False)
    return sources, config


def test_the_start_records_every_dataset_manifest(tmp_path):
    started_search(tmp_path)
    record = json.loads((tmp_path / "mix1" / DATASETS).read_text())
    assert sorted(record) == [f"sources.{name}.{split}" for name in ("books", "web", "wiki")
                              for split in ("train", "validation")]
    assert all(len(entry["sha256"]) == 64 for entry in record.values())


def test_resume_on_the_same_data_goes_on(tmp_path):
    _, config = started_search(tmp_path)
    check_same_datasets(tmp_path / "mix1", read_inputs(config).manifests, resume=True)


def test_resume_on_re_tokenised_data_is_refused_before_any_run(tmp_path):
    sources, config = started_search(tmp_path)
    write_source(sources["web"], "web", seed=9)  # the same folder, written again with other documents
    with pytest.raises(ConfigError, match=r"--resume: sources.web.train \(.*web/train/manifest.json\) is not the "
                                          r"token data .* start a new search folder"):
        run_mixture_search(config, resume=True)
    assert not (tmp_path / "mix1" / "runs").exists()


def test_a_sweep_resume_on_re_tokenised_data_is_refused_before_any_run(tmp_path):
    """Scaling, variant and hparam searches record the sources of their mixture file the same way."""
    sources = write_sources(tmp_path / "tokens")
    path = sweep_file(tmp_path / "scaling.yaml", mixture_file(tmp_path / "mix.yaml", sources), tmp_path / "scaling",
                      tokens=[512])
    config = load_scaling_config(path)
    check_same_mixture_datasets(tmp_path / "scaling", config.mixture, config.target, resume=False)
    write_source(sources["wiki"], "wiki", seed=9)
    with pytest.raises(ConfigError, match=r"--resume: sources.wiki.train .* start a new search folder"):
        run_scaling_search(config, resume=True)
    assert not (tmp_path / "scaling" / "runs").exists()
