"""The stage registry (dataflow/stages.py) is the one list of stages: every entry runs by name,
has a job with a `main` and a typed `run`, a section of the pipeline config, and a folder the pipeline writes."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

import cli.pipeline
from dataflow.pipeline import PipelineConfig
from dataflow.stages import DOCUMENT_STAGES, STAGE_ORDER, STAGES, stage_folder


@pytest.mark.parametrize("name", STAGE_ORDER)
def test_every_stage_runs_by_name_and_prints_its_job_help(name, capsys):
    with pytest.raises(SystemExit) as done:  # argparse's --help exits
        cli.main(["run", name, "--help"])
    assert done.value.code == 0
    assert "--output" in capsys.readouterr().out


def test_every_stage_has_a_job_main_and_a_config_section():
    for stage in STAGES:
        assert callable(importlib.import_module(stage.job).main), stage.name
        assert stage.section in PipelineConfig.model_fields, stage.name


def test_every_job_has_a_typed_run_taking_its_config_section():
    """What the pipeline calls instead of argv: `run(args: <Options>, config: <the section's model>)`."""
    for stage in STAGES:
        run = importlib.import_module(stage.job).run
        hints = typing.get_type_hints(run)
        assert hints["config"] is PipelineConfig.model_fields[stage.section].annotation, stage.name
        assert list(inspect.signature(run).parameters)[:2] == ["args", "config"], stage.name
        assert hints["return"] is int, stage.name


def test_cli_run_knows_the_registry_and_the_whole_pipeline():
    assert list(cli.pipeline.STAGES) == [*STAGE_ORDER, "pipeline"]


def test_folders_are_filled_per_source_and_mixture():
    assert stage_folder("tokenize", "out/", source="en") == "out/tokens/en"
    assert stage_folder("mix", "out", mixture="en+de") == "out/shards/en+de"
    assert DOCUMENT_STAGES == ("extract", "filter", "dedup", "classify", "decontaminate")


def test_an_unknown_stage_is_one_line_listing_the_known_ones(capsys):
    assert cli.main(["run", "tokenise"]) != 0
    known = "known stages: extract, filter, dedup, classify, decontaminate, tokenizer, tokenize, mix"
    assert known in capsys.readouterr().err
