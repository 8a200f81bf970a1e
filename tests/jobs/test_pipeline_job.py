"""`dataflow run pipeline` end to end: sample WARCs -> every stage -> shards -> a few training steps.

One small sample (160 pages) through the real jobs in the session's Spark, then the rerun
that must skip every stage, then the trainer on the mixture the pipeline wrote. The sample, the
stages and the trainer are seeded, so every count below is what this run makes, pinned.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch

import cli
from dataflow.samples.benchmark import items, leaked_ids
from dataflow.samples.generate import write_sample_warcs
from tests.stage_outputs import stats_of
from trainer.train import main as train_main

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

SAMPLE_PAGES, SEED = 160, 0
STAGE_FOLDERS = ["docs", "filtered", "deduped", "clean", "tokens/web", "shards/web"]
#: Document stages of the seeded run: (rows in, rows out, rows rejected by reason).
DOCUMENT_STAGES = {
    "docs": (504, 157, {"http_status": 3, "non_html": 5, "record_metadata": 166, "record_request": 168,
                        "record_revisit": 2, "record_warcinfo": 2, "too_large": 1}),
    "filtered": (157, 104, {"c4_lorem_ipsum": 1, "c4_min_sentences": 20, "degenerate_char_run": 1,
                           "degenerate_long_word": 1, "degenerate_non_printable": 1, "degenerate_symbol_share": 1,
                           "dup_5gram_char_frac": 3, "dup_line_frac": 6, "fineweb_dup_line_chars": 1,
                           "gopher_alpha_words": 6, "gopher_bullet_lines": 2, "gopher_stop_words": 4,
                           "gopher_word_count": 6}),
    "deduped": (104, 86, {"exact_duplicate": 9, "near_duplicate": 9}),
    "clean": (86, 85, {"contaminated": 1}),
}


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


def test_every_stage_is_complete_with_the_seeded_runs_counts(pipeline_run):
    root, _ = pipeline_run
    out = root / "out"
    for folder in STAGE_FOLDERS:
        assert (out / folder / "_SUCCESS").exists(), folder
    assert {name: (stats_of(out / name)["rows_in"], stats_of(out / name)["rows_out"],
                   stats_of(out / name)["rejected_by_reason"]) for name in DOCUMENT_STAGES} == DOCUMENT_STAGES
    assert {name: pq.read_table(out / name / "data").num_rows for name in DOCUMENT_STAGES} == {
        name: rows_out for name, (_, rows_out, _) in DOCUMENT_STAGES.items()}
    tokens = stats_of(out / "tokens/web")
    assert (tokens["documents"], tokens["tokens"]) == (85, 44416)
    assert {split: (figures["documents"], figures["tokens"]) for split, figures in tokens["splits"].items()} == {
        "train": (83, 43237), "validation": (2, 1179)}
    assert (out / "tokenizer" / "tokenizer.json").is_file() and (out / "mixture.yaml").is_file()
    mixed = stats_of(out / "shards/web")
    assert (mixed["sequences"], mixed["tokens"], mixed["shares"]["web"]) == (334, 42752, {"realised": 1.0,
                                                                                          "target": 1.0})


def test_decontamination_found_the_planted_sample_benchmark(pipeline_run):
    root, _ = pipeline_run
    sample = json.loads((root / "out" / "clean" / "contamination.json").read_text())["benchmarks"]["sample"]
    # items are keyed by position in the file: the pipeline names the fields, not an id field
    assert [(row["item"], row["documents"]) for row in sample["leaked"]] == [("9", 1)] and sample["items_found"] == 1
    assert items()[9]["id"] in leaked_ids(SEED)


def test_rerun_skips_every_stage(pipeline_run):
    root, args = pipeline_run
    before = {name: stats_of(root / "out" / name)["fingerprint"] for name in STAGE_FOLDERS}
    stamps = {name: (root / "out" / name / "stats.json").stat().st_mtime_ns for name in STAGE_FOLDERS}
    assert cli.main(args) == 0
    assert {name: stats_of(root / "out" / name)["fingerprint"] for name in STAGE_FOLDERS} == before
    assert {name: (root / "out" / name / "stats.json").stat().st_mtime_ns for name in STAGE_FOLDERS} == stamps


def test_the_trainer_trains_on_the_pipelines_mixture(pipeline_run, tmp_path):
    root, _ = pipeline_run
    torch.set_num_threads(1)
    run = tmp_path / "run"
    assert train_main(["--config", "runs/demo-tiny.yaml", "--out-dir", str(run), "--data.mixture",
                       str(root / "out" / "mixture.yaml"), "--max-steps", "6", "--eval.every-steps", "3",
                       "--checkpoint.every-steps", "3"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = {row["step"]: row["web"]["bits_per_byte"] for row in rows if row["kind"] == "eval"}
    # bits per UTF-8 byte of the held-out page before training and after 3 and 6 steps (seeded), falling
    assert evals == {0: pytest.approx(4.4061, abs=1e-3), 3: pytest.approx(4.4035, abs=1e-3),
                     6: pytest.approx(4.3896, abs=1e-3)}


def test_inspect_recognises_the_tokenizer_stage_folder(pipeline_run, capsys):
    root, _ = pipeline_run
    assert cli.main(["inspect", str(root / "out" / "tokenizer"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "tokenizer" and report["path"].endswith("tokenizer.json")
    assert report["summary"]["trained on"].startswith("85 documents,")
    assert report["summary"]["asked vocab size"] == 2000
