"""`dataflow run pipeline --config FILE`: input, output, sources and every stage's section from one
file, flags over it, --from/--until, the funnel as JSON, the tokenizer as a fingerprinted stage.

The run itself is the session's `pipeline_from_config` (tests/pipeline_config_run.py): 160
sample pages, English and German mixed as two token sources.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import cli
from dataflow.inspect.funnel import pipeline_order
from dataflow.pipeline import load_pipeline_config
from dataflow.stages import STAGE_ORDER
from tests.pipeline_config_run import SOURCES

REPO = Path(__file__).resolve().parents[2]


def _stats(folder: Path) -> dict:
    return json.loads((folder / "stats.json").read_text())


def test_examples_pipeline_yaml_is_a_valid_config_for_two_sources():
    config = load_pipeline_config(REPO / "examples" / "pipeline.yaml")
    assert config.input[0].endswith("warc.paths.gz") and set(config.sources) == {"en", "de"}
    assert config.extract.keep_languages == ["en", "de"] and config.classify.model
    assert config.decontaminate.benchmarks == ["gsm8k", "mmlu"]


def test_config_file_alone_runs_every_stage_and_mixes_both_sources(pipeline_from_config):
    out = pipeline_from_config.parent / "out"
    for folder in ("docs", "filtered", "deduped", "clean", "tokenizer", "tokens/en", "tokens/de", "shards/de+en"):
        assert (out / folder / "_SUCCESS").exists(), folder
    assert _stats(out / "tokens/en")["config"]["languages"] == ["en"]
    shares = _stats(out / "shards/de+en")["shares"]
    assert {name: share["target"] for name, share in shares.items()} == {"en": 0.75, "de": 0.25}
    assert all(share["realised"] == pytest.approx(share["target"], abs=0.02) for share in shares.values())
    assert yaml.safe_load((out / "mixture.yaml").read_text())["sources"].keys() == SOURCES.keys()


def test_funnel_json_lists_every_stage_with_rows_bytes_and_tokens(pipeline_from_config):
    out = pipeline_from_config.parent / "out"
    stages = json.loads((out / "funnel.json").read_text())["stages"]
    assert [row["stage"] for row in stages] == ["extract", "filter", "dedup", "decontaminate", "tokenizer",
                                                "tokenize", "tokenize", "mix"]
    by_folder = {row["folder"]: row for row in stages}
    assert by_folder["filtered"]["rows in"] == by_folder["docs"]["rows out"] == _stats(out / "docs")["rows_out"]
    assert by_folder["clean"]["bytes out"] == _stats(out / "clean")["bytes_out"]
    assert by_folder["en"]["tokens"] == _stats(out / "tokens/en")["tokens"] > 0
    assert by_folder["de+en"]["tokens"] == _stats(out / "shards/de+en")["tokens"]


def test_tokenizer_stage_records_its_input_and_retrains_when_its_config_changes(pipeline_from_config, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(pipeline_from_config.parent / "out", run / "out")
    stats = _stats(run / "out" / "tokenizer")
    assert stats["inputs"] == [_stats(run / "out" / "clean")["fingerprint"]] and stats["vocab_size"] <= 2000
    config = yaml.safe_load(pipeline_from_config.read_text())
    config.update(output=str(run / "out"), tokenizer={"vocab_size": 1500})
    (run / "pipeline.yaml").write_text(yaml.safe_dump(config))
    args = ["run", "pipeline", "--config", str(run / "pipeline.yaml"), "--from", "tokenizer", "--until", "tokenizer"]
    assert cli.main(args) == 0
    retrained = _stats(run / "out" / "tokenizer")
    assert retrained["fingerprint"] != stats["fingerprint"] and retrained["sha256"] != stats["sha256"]
    assert _stats(run / "out" / "tokens" / "en") == _stats(pipeline_from_config.parent / "out" / "tokens" / "en")


def test_flags_override_the_config_file_and_from_until_run_one_stage(pipeline_from_config, tmp_path):
    shutil.copytree(pipeline_from_config.parent / "out" / "docs", tmp_path / "out" / "docs")
    args = ["run", "pipeline", "--config", str(pipeline_from_config), "--output", str(tmp_path / "out"),
            "--from", "filter", "--until", "filter", "--quiet"]
    assert cli.main(args) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["docs", "filtered", "funnel.json"]
    original = _stats(pipeline_from_config.parent / "out" / "filtered")
    assert _stats(tmp_path / "out" / "filtered")["fingerprint"] == original["fingerprint"]
    assert _stats(tmp_path / "out" / "filtered")["rows_out"] == original["rows_out"]


def test_from_a_later_stage_refuses_a_missing_earlier_output(pipeline_from_config, tmp_path, capsys):
    args = ["run", "pipeline", "--config", str(pipeline_from_config), "--output", str(tmp_path / "out"),
            "--from", "filter", "--until", "filter"]
    assert cli.main(args) == 2
    assert "docs does not exist" in capsys.readouterr().err


def test_pipeline_without_input_names_the_key_and_the_flag(tmp_path, capsys):
    assert cli.main(["run", "pipeline", "--output", str(tmp_path / "out")]) == 2
    assert "give --input PATH or `input:` in the config file" in capsys.readouterr().err


def test_each_stage_prints_a_progress_line_and_quiet_mode_prints_none(pipeline_from_config, tmp_path, capsys):
    shutil.copytree(pipeline_from_config.parent / "out", tmp_path / "out")
    args = ["run", "pipeline", "--config", str(pipeline_from_config), "--output", str(tmp_path / "out"),
            "--from", "filter", "--until", "filter"]
    position = f"[{STAGE_ORDER.index('filter') + 1}/{len(STAGE_ORDER)}] filter"
    assert cli.main(args) == 0
    rows = _stats(tmp_path / "out" / "filtered")["rows_in"]
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(position))
    assert f": {rows:,} rows in," in line and "(reused: complete and current)" in line
    assert cli.main([*args, "--quiet"]) == 0
    assert position not in capsys.readouterr().out


def test_funnel_of_a_relative_run_folder_lists_each_stage_once(pipeline_from_config, monkeypatch):
    monkeypatch.chdir(pipeline_from_config.parent)
    assert [stats["stage"] for _, stats in pipeline_order(Path("out"))] == [
        "extract", "filter", "dedup", "decontaminate", "tokenizer", "tokenize", "tokenize", "mix"]
