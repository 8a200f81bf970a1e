"""`dataflow export`: a stage output as JSON Lines shards, and as a Hugging Face dataset folder that
`datasets.load_dataset` opens offline, rows equal to the stage's own."""

from __future__ import annotations

import gzip
import json

import pytest
import yaml

import cli
from jobs import filter as filter_job
from jobs.common.documents_in import read_documents
from tests.document_files import write_jsonl
from tests.sample_documents import sample_documents
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

PAGES = 30


@pytest.fixture(scope="module")
def filtered(spark, tmp_path_factory):
    """A filter stage output (kept rows carry the `filter_values` map column) of 30 sample articles as JSON Lines."""
    folder = tmp_path_factory.mktemp("export")
    pages = sample_documents(PAGES, seed=30)
    source = write_jsonl(folder / "docs.jsonl", [{"body": page["text"], "page": page["id"]} for page in pages])
    assert filter_job.main(["--input", str(source), "--output", str(folder / "filtered"), "--text-column", "body"]) == 0
    return folder / "filtered"


def stage_rows(spark, stage) -> dict[str, dict]:
    return {row["id"]: row.asDict() for row in spark.read.parquet(str(stage / "data")).collect()}  # thirty rows at most


def test_hf_folder_opens_offline_with_the_stage_rows(spark, filtered, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "hf"
    assert cli.main(["export", str(filtered), "--format", "hf", "--output", str(out)]) == 0
    import datasets

    loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    expected = stage_rows(spark, filtered)
    assert len(loaded) == len(expected) == stats_of(filtered)["rows_out"] > 0
    for row in loaded:
        assert row["text"] == expected[row["id"]]["text"] and row["metadata"] == expected[row["id"]]["metadata"]
        assert json.loads(row["filter_values"]) == pytest.approx(expected[row["id"]]["filter_values"])
    card = (out / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "data/*.parquet"}]
    assert f"| filter | filtered | {PAGES} |" in card and '"stage": "filter"' in card
    mtime = (out / "_SUCCESS").stat().st_mtime_ns
    assert cli.main(["export", str(filtered), "--format", "hf", "--output", str(out)]) == 0
    assert (out / "_SUCCESS").stat().st_mtime_ns == mtime  # complete and current: skipped


def test_jsonl_shards_hold_the_stage_rows(spark, filtered, tmp_path):
    out = tmp_path / "jsonl"
    assert cli.main(["export", str(filtered), "--format", "jsonl", "--compression", "gzip", "--num-shards", "2",
                     "--output", str(out)]) == 0
    shards = sorted((out / "data").glob("part-*.json.gz"))
    assert len(shards) == 2
    rows = [json.loads(line) for shard in shards for line in gzip.open(shard, "rt", encoding="utf-8")]
    expected = stage_rows(spark, filtered)
    assert {row["id"]: row["text"] for row in rows} == {key: row["text"] for key, row in expected.items()}
    # fed back as --input, the export (stats.json and _SUCCESS beside data/, as a stage output) reads as JSON Lines
    again = {row["id"]: row for row in read_documents(spark, str(out)).collect()}  # thirty rows at most
    assert {key: (row["text"], row["metadata"], row["language"]) for key, row in again.items()} == \
        {key: (row["text"], row["metadata"], row["language"]) for key, row in expected.items()}
