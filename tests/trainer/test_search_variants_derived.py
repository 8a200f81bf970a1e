"""Variant search over sources it derives itself from real stage outputs (sample articles filtered and
classified): a `where` on the filter stage's kept rows and the classifier's top share, re-tokenised with
the base source's tokenizer."""

from __future__ import annotations

import json
import math

import pyarrow.parquet as pq
import pytest
import yaml
from search_sources import PROXY_TRAIN

from dataflow.errors import ConfigError
from dataflow.inspect import inspect_path
from dataflow.shards import open_split
from jobs import classify, tokenize_docs, train_tokenizer
from jobs import filter as filter_job
from bench.common.real_pages import write_documents
from trainer.config import load_train_config
from trainer.metrics import read_jsonl
from trainer.search.searches.variants import load_variant_config, run_variant_search
from tests.sample_documents import sample_documents

WHERE = "filter_values['gopher_mean_word_length'] < 5"
TOP = 0.3


@pytest.fixture(scope="module")
def pipeline(spark, sample_quality_model, tmp_path_factory):
    """200 sample articles through filter and classify, the kept rows tokenised as the base `web` source."""
    root = tmp_path_factory.mktemp("derived")
    write_documents(root / "docs", sample_documents(200, seed=29), parts=2)
    assert filter_job.main(["--input", str(root / "docs"), "--output", str(root / "filtered")]) == 0
    assert classify.main(["--input", str(root / "filtered"), "--output", str(root / "clean"),
                          "--model", str(sample_quality_model)]) == 0
    assert train_tokenizer.main(["--input", str(root / "clean"), "--output", str(root / "tokenizer.json"),
                                 "--vocab-size", "500", "--max-sample-bytes", "300000"]) == 0
    assert tokenize_docs.main(["--input", str(root / "clean"), "--tokenizer", str(root / "tokenizer.json"),
                               "--source", "web", "--num-shards", "2", "--validation-frac", "0.1",
                               "--output", str(root / "tokens" / "web")]) == 0
    (root / "mix.yaml").write_text(yaml.safe_dump({"name": "mix", "total_tokens": 4096, "seq_len": 32, "sources": {
        "web": {"path": str(root / "tokens" / "web"), "weight": 1.0, "max_epochs": 8}}}))
    return root


def variant_file(root, out, variants, **fields):
    """One size, two seeds; scored on the base source's validation split, which no variant changes."""
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": "d", "out_dir": str(out), "mixture": str(root / "mix.yaml"),
        "target": {"held-out": {"path": str(root / "tokens" / "web"), "weight": 1.0}},
        "train": PROXY_TRAIN, "sizes": {"s16": {"model": {"d_model": 16}}}, "backend": {"kind": "local", "workers": 2},
        "base_tokens": 512, "branch_tokens": 256, "variants": variants, **fields}))
    return load_variant_config(path)


@pytest.mark.search_e2e
def test_where_and_top_fraction_variants_are_tokenised_like_the_base_and_branched_on(pipeline, tmp_path):
    config = variant_file(pipeline, tmp_path / "v", {
        "short-words": {"derive": {"web": {"stage": str(pipeline / "filtered"), "where": WHERE}}},
        "top-30pct": {"derive": {"web": {"stage": str(pipeline / "clean"), "top_fraction": TOP}}}})
    summary = run_variant_search(config)

    assert summary["runs"] == {"done": 7, "failed": 0, "queued": 0, "running": 0}  # base + 3 branches x 2 seeds
    filtered = pq.read_table(pipeline / "filtered" / "data", columns=["id", "filter_values"]).to_pylist()
    short_ids = {row["id"] for row in filtered if dict(row["filter_values"]).get("gopher_mean_word_length", 99) < 5}
    clean = pq.read_table(pipeline / "clean" / "data", columns=["id", "quality_score"]).to_pylist()
    ranked = sorted(clean, key=lambda row: (-row["quality_score"], row["id"]))
    top_ids = {row["id"] for row in ranked[:math.ceil(TOP * len(clean))]}
    assert 0 < len(short_ids) < len(filtered) and len(filtered) == len(clean) == 200 and len(top_ids) == 60

    base = open_split(pipeline / "tokens" / "web", "train").manifest
    derived = {row["variant"]: row for row in summary["derived"]}
    for name, expected in (("short-words", short_ids), ("top-30pct", top_ids)):
        folder = tmp_path / "v" / "derived" / name / "web"
        stats = json.loads((folder / "stats.json").read_text())
        documents = pq.read_table(folder / "documents", columns=["id"])["id"].to_pylist()
        assert stats["rows_in"] == len(expected) and set(documents) == expected
        assert (derived[name]["rows"], derived[name]["tokens"]) == (len(expected), stats["tokens"])
        assert open_split(folder, "train").manifest.tokenizer.sha256 == base.tokenizer.sha256
        branch = tmp_path / "v" / "runs" / f"s16-{name}-s1"
        mixture = yaml.safe_load((branch / "mixture.yaml").read_text())
        assert mixture["sources"]["web"]["path"] == str(folder)
        assert load_train_config(branch / "run.yaml").checkpoint.init_from.endswith("runs/s16-base")
        assert any("branched from" in e.get("message", "") for e in read_jsonl(branch / "events.jsonl"))
    table = inspect_path(tmp_path / "v").tables["derived sources"]
    assert [row[:2] + row[5:6] for row in table.rows] == [["short-words", "web", len(short_ids)],
                                                        ["top-30pct", "web", len(top_ids)]]

    finished = tmp_path / "v" / "derived" / "short-words" / "web" / "stats.json"
    half = tmp_path / "v" / "derived" / "top-30pct" / "web"
    (half / "_SUCCESS").unlink()  # as a run killed while publishing leaves it
    mtimes = {path: path.stat().st_mtime_ns for path in (finished, half / "stats.json")}
    resumed = run_variant_search(config, resume=True)
    assert resumed["derived"] == summary["derived"] and (half / "_SUCCESS").is_file()
    assert finished.stat().st_mtime_ns == mtimes[finished]  # the finished one reused, the half-written one redone
    assert (half / "stats.json").stat().st_mtime_ns != mtimes[half / "stats.json"]


@pytest.mark.parametrize("derive, message", [
    ({"where": "filter_values['gopher_mean_word_length'] < 5 AND words > 3"},
     r"variants.bad.derive.web.where: .* does not apply to .*filtered \(UNRESOLVED_COLUMN.*\); its columns: id, "),
    ({"where": "filter_values['no_such_value'] > 1"},
     r"variants.bad.derive.web: the selection of .*filtered is empty \(0 rows where filter_values\['no_such_value'\]"),
    ({"top_fraction": 0.5}, r"variants.bad.derive.web.score_column: .*filtered has no column 'quality_score'"),
], ids=["unknown-column", "empty-selection", "no-score-column"])
@pytest.mark.slow
def test_a_derive_that_selects_nothing_usable_is_refused_naming_the_variant(pipeline, tmp_path, derive, message):
    config = variant_file(pipeline, tmp_path / "v", {"bad": {"derive": {"web": {"stage": str(pipeline / "filtered"),
                                                                                 **derive}}}})
    with pytest.raises(ConfigError, match=message):
        run_variant_search(config)
    assert not (tmp_path / "v" / "runs").exists()


@pytest.mark.slow
def test_a_missing_stage_folder_or_a_top_fraction_above_one_is_refused(pipeline, tmp_path):
    config = variant_file(pipeline, tmp_path / "v", {"bad": {"derive": {"web": {"stage": str(tmp_path / "nope")}}}})
    with pytest.raises(ConfigError, match=r"variants.bad.derive.web.stage: .*nope does not exist"):
        run_variant_search(config)
    with pytest.raises(ConfigError, match=r"variants.bad.derive.web.top_fraction"):
        variant_file(pipeline, tmp_path / "w", {"bad": {"derive": {"web": {"stage": str(pipeline / "clean"),
                                                                           "top_fraction": 1.5}}}})
