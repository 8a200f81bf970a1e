"""`dataflow run pipeline` end to end: sample WARCs -> every stage -> shards -> a few training steps.

One small sample (160 pages) through the real jobs in the session's Spark, then the rerun
that must skip every stage, then the trainer on the mixture the pipeline wrote.
"""

from __future__ import annotations

import json

import pytest
import torch

from dataflow import cli
from dataflow.samples.benchmark import items, leaked_ids
from dataflow.samples.generate import write_sample_warcs
from trainer.train import main as train_main

SAMPLE_PAGES, SEED = 160, 0
STAGE_FOLDERS = ["docs", "filtered", "deduped", "clean", "tokens/web", "shards/web"]


@pytest.fixture(scope="module")
def pipeline_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    write_sample_warcs(root / "warc", num_pages=SAMPLE_PAGES, num_files=2, seed=SEED)
    config = root / "pipeline.yaml"
    config.write_text("tokenizer: {vocab_size: 2000}\n")  # a small vocabulary trains in a second on 160 pages
    args = ["run", "pipeline", "--input", str(root / "warc" / "*.warc.gz"), "--output", str(root / "out"),
            "--seq-len", "128", "--config", str(config)]
    assert cli.main(args) == 0
    return root, args


def _stats(folder):
    return json.loads((folder / "stats.json").read_text())


def test_every_stage_is_complete_and_the_counts_chain(pipeline_run):
    root, _ = pipeline_run
    out = root / "out"
    for folder in STAGE_FOLDERS:
        assert (out / folder / "_SUCCESS").exists(), folder
    chain = [_stats(out / name) for name in ("docs", "filtered", "deduped", "clean")]
    for upstream, downstream in zip(chain, chain[1:]):
        assert downstream["rows_in"] == upstream["rows_out"]
    assert _stats(out / "tokens/web")["documents"] == chain[-1]["rows_out"]
    assert (out / "tokenizer" / "tokenizer.json").is_file() and (out / "mixture.yaml").is_file()
    mixed = _stats(out / "shards/web")
    assert mixed["sequences"] > 0 and mixed["shares"]["web"]["realised"] == 1.0


def test_decontamination_found_the_planted_sample_benchmark(pipeline_run):
    root, _ = pipeline_run
    sample = json.loads((root / "out" / "clean" / "contamination.json").read_text())["benchmarks"]["sample"]
    found = {row["item"] for row in sample["leaked"]}
    assert sample["items_found"] == len(found) >= 1
    # items are keyed by position in the file: the pipeline names the fields, not an id field
    assert {items()[int(item.rsplit(":", 1)[-1])]["id"] for item in found} <= set(leaked_ids(SEED))
    assert _stats(root / "out" / "clean")["rejected_by_reason"].get("contaminated", 0) >= 1


def test_rerun_skips_every_stage(pipeline_run):
    root, args = pipeline_run
    before = {name: _stats(root / "out" / name)["fingerprint"] for name in STAGE_FOLDERS}
    stamps = {name: (root / "out" / name / "stats.json").stat().st_mtime_ns for name in STAGE_FOLDERS}
    assert cli.main(args) == 0
    assert {name: _stats(root / "out" / name)["fingerprint"] for name in STAGE_FOLDERS} == before
    assert {name: (root / "out" / name / "stats.json").stat().st_mtime_ns for name in STAGE_FOLDERS} == stamps


def test_the_trainer_trains_on_the_pipelines_mixture(pipeline_run, tmp_path):
    root, _ = pipeline_run
    torch.set_num_threads(1)
    run = tmp_path / "run"
    assert train_main(["--config", "runs/demo-tiny.yaml", "--out-dir", str(run), "--data.mixture",
                       str(root / "out" / "mixture.yaml"), "--max-steps", "6", "--eval.every-steps", "3",
                       "--checkpoint.every-steps", "3"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [row for row in rows if row["kind"] == "eval"]
    assert [row["step"] for row in evals][-1] == 6
    assert 0 < evals[-1]["web"]["bits_per_byte"] < 10  # bits per UTF-8 byte of the held-out pages
