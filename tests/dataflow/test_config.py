"""Pipeline config: strict keys, clear YAML errors, flags over file, `config show`."""

from __future__ import annotations

import argparse

import pytest
import yaml

import cli.pipeline
from dataflow.config import add_model_flags, flag_overrides, with_overrides
from dataflow.errors import ConfigError
from dataflow.extract.records import ExtractConfig
from dataflow.pipeline import load_pipeline_config


def write(tmp_path, text: str):
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_the_key_and_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'extract\.keep_language'.*keep_languages"):
        load_pipeline_config(write(tmp_path, "extract:\n  keep_language: [en]\n"))


def test_unknown_stage_section_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'extrakt'"):
        load_pipeline_config(write(tmp_path, "extrakt: {}\n"))


def test_malformed_yaml_names_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"malformed YAML in .*pipeline.yaml at line 2"):
        load_pipeline_config(write(tmp_path, "extract:\n  source: a: b\n"))


def test_wrong_type_names_key_and_value(tmp_path):
    with pytest.raises(ConfigError, match=r"extract\.max_html_bytes: .*'lots'"):
        load_pipeline_config(write(tmp_path, "extract:\n  max_html_bytes: lots\n"))


def test_empty_file_gives_defaults(tmp_path):
    assert load_pipeline_config(write(tmp_path, "")) == load_pipeline_config(None)


def test_flags_override_the_file(tmp_path):
    config = load_pipeline_config(write(tmp_path, "extract:\n  source: wiki\n  max_html_bytes: 1000\n")).extract
    parser = argparse.ArgumentParser()
    add_model_flags(parser, ExtractConfig)
    args = parser.parse_args(["--max-html-bytes", "5000", "--keep-languages", "[en, de]", "--s3-anonymous"])
    merged = with_overrides(config, flag_overrides(args, ExtractConfig))
    assert (merged.source, merged.max_html_bytes, merged.keep_languages, merged.s3_anonymous) == (
        "wiki", 5000, ["en", "de"], True)


def test_config_show_prints_every_default(tmp_path, capsys):
    assert cli.main(["config", "show", "--config", str(write(tmp_path, "extract:\n  source: wiki\n"))]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["extract"]["source"] == "wiki" and shown["extract"]["max_html_bytes"] == 2 * 1024 * 1024


def test_run_help_lists_the_stages_and_an_unknown_stage_names_them(capsys):
    assert cli.main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: dataflow run" in out and all(stage in out for stage in cli.pipeline.STAGES)
    assert cli.main(["run", "filtre"]) == 2
    assert "unknown stage 'filtre'; known stages: extract, filter" in capsys.readouterr().err
