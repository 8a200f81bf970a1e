"""`dataflow inspect PATH` on Parquet stage outputs built from the sample generator's articles: counts, breakdowns,
the funnel, histograms, samples, --where, --verify, JSON, one-line errors, subcommands beside PATH."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cli
from dataflow.inspect import InspectOptions, inspect_path
from dataflow.inspect.accumulate import NumericColumn, TopValues
from dataflow.inspect.funnel import chain_to, funnel_table
from dataflow.inspect.render import render_text
from dataflow.schema import REJECT_FIELDS, doc_schema
from tests.sample_documents import sample_documents


def write_stage(folder, name, kept, rejected, inputs, not_written=None):
    """A stage folder as jobs/common/stage_io.py writes it (data/, rejected/, stats.json, _SUCCESS)."""
    (folder / "data").mkdir(parents=True)
    (folder / "rejected").mkdir()
    pq.write_table(pa.Table.from_pylist(kept, schema=doc_schema()), folder / "data" / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(rejected, schema=pa.schema([*doc_schema(), *REJECT_FIELDS])),
                   folder / "rejected" / "part-0.parquet")
    reasons = Counter(row["reject_reason"] for row in rejected) + Counter(not_written or {})
    stats = {"stage": name, "fingerprint": f"fp-{name}", "inputs": inputs, "rows_in": len(kept) + sum(reasons.values()),
             "rows_out": len(kept), "rows_rejected": sum(reasons.values()), "rejected_by_reason": dict(reasons),
             "not_written_reasons": sorted(not_written or {}), "seconds": 1.5}
    (folder / "stats.json").write_text(json.dumps(stats))
    (folder / "_SUCCESS").write_text("")
    return folder


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("out")
    docs = [{"id": d["id"], "url": d["url"], "source": "web", "text": d["text"], "language": d["language"],
             "domain": (d["url"] or "").split("/")[2] if d["url"] else None, "language_score": 0.9}
            for d in sample_documents(300)]
    write_stage(root / "docs", "extract", docs, [], ["a.warc.gz"], not_written={"record_request": 300})
    short = [dict(d, reject_reason="min_words", reject_value=str(len(d["text"].split()))) for d in docs
             if len(d["text"]) < 1500]
    write_stage(root / "clean", "filter", [d for d in docs if len(d["text"]) >= 1500], short, ["fp-extract"])
    return root


def test_stage_report_counts_breakdowns_and_funnel(pipeline):
    report = inspect_path(pipeline / "clean")
    kept = pq.read_table(pipeline / "clean" / "data", columns=["language", "text"]).to_pylist()
    assert report.kind == "stage" and report.summary["rows"] == len(kept)
    assert report.summary["rows rejected"] == report.summary["rejected/ rows"] == 300 - len(kept)
    languages = {row[0]: row[1] for row in report.tables["by language"].rows}
    assert languages["en"] == sum(row["language"] == "en" for row in kept)
    funnel = report.tables["funnel"].rows
    assert [row[:4] for row in funnel] == [["extract", "docs", 600, 300], ["filter", "clean", 300, len(kept)]]
    assert funnel[1][5] == f"min_words {300 - len(kept):,}"
    chars = report.histograms["text_chars"]
    assert chars.count == sum(chars.counts) == len(kept) and chars.min >= 1500


def test_where_filters_everything_and_sample_takes_rows_from_the_filtered_set(pipeline):
    report = inspect_path(pipeline / "docs", InspectOptions(where="language == 'en' and len(text) > 1000", sample=4))
    rows = pq.read_table(pipeline / "docs" / "data", columns=["language", "text"]).to_pylist()
    expected = sum(r["language"] == "en" and len(r["text"]) > 1000 for r in rows)
    assert report.summary["rows"] == expected > 4 and report.summary["rows (all)"] == 300
    assert len(report.samples) == 4 and all(s["language"] == "en" and len(s["text"]) > 1000 for s in report.samples)
    assert inspect_path(pipeline / "docs", InspectOptions(sample=4, seed=1)).samples != \
        inspect_path(pipeline / "docs", InspectOptions(sample=4, seed=2)).samples


def test_rejected_folder_is_broken_down_by_reason(pipeline):
    report = inspect_path(pipeline / "clean" / "rejected")
    assert report.kind == "parquet"
    assert report.tables["by reject_reason"].rows[0][:2] == ["min_words", report.summary["rows"]]


def test_verify_compares_files_with_stats_json(pipeline, tmp_path, capsys):
    assert cli.main(["inspect", str(pipeline / "clean"), "--verify"]) == 0
    assert "ok: data/ and rejected/ hold the rows stats.json counts" in capsys.readouterr().out
    broken = write_stage(tmp_path / "broken", "filter", [{"id": "a", "text": "x"}], [], [])
    stats = json.loads((broken / "stats.json").read_text())
    (broken / "stats.json").write_text(json.dumps({**stats, "rows_out": 2}))
    assert cli.main(["inspect", str(broken), "--verify"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: stage output {broken}: data/ holds 1 rows, stats.json says 2; rerun the stage with --force"]


def test_pipeline_folder_shows_the_funnel_in_stage_order(pipeline):
    report = inspect_path(pipeline)
    assert report.kind == "pipeline" and [row[0] for row in report.tables["funnel"].rows] == ["extract", "filter"]


def test_json_output_is_the_report(pipeline, capsys):
    assert cli.main(["inspect", str(pipeline / "docs"), "--json", "--top", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "stage" and report["summary"]["rows"] == 300
    assert len(report["tables"]["by language"]["rows"]) == 4  # top 3 and the rest


def test_text_output_draws_histograms(pipeline, capsys):
    assert cli.main(["inspect", str(pipeline / "docs")]) == 0
    out = capsys.readouterr().out
    assert "by language" in out and "text_chars" in out and "█" in out and "funnel" in out


def test_named_subcommands_still_work_beside_paths(pipeline, capsys):
    doc_id = pq.read_table(pipeline / "docs" / "data", columns=["id"]).column("id")[0].as_py()
    assert cli.main(["inspect", "doc", doc_id, str(pipeline / "docs")]) == 0
    assert doc_id in capsys.readouterr().out
    assert cli.main(["inspect", "path", str(pipeline / "docs"), "--top", "1"]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["/no/such/folder"], "error: /no/such/folder does not exist"),
    (["{docs}", "--where", "lang > 1"], "error: --where 'lang > 1': no column 'lang'; columns: id, url"),
    (["{docs}", "--where", "language = 'de'"], "error: --where \"language = 'de'\" is not a valid condition"),
    (["{docs}", "--decode", "3"], "error: --decode does not apply to {docs} (stage); it applies to: mixture"),
])
def test_errors_are_one_line(pipeline, capsys, args, message):
    args = [arg.format(docs=pipeline / "docs") for arg in args]
    assert cli.main(["inspect", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message.format(docs=pipeline / "docs"))


def test_numeric_column_is_exact_in_its_figures_and_bounded_in_memory():
    column = NumericColumn(seed=0, max_values=500)
    values = np.random.default_rng(0).normal(size=20_000)
    for batch in np.array_split(values, 40):
        column.add(batch, nulls=1)
    histogram = column.histogram(bins=10)
    assert column.values.size == 500 and sum(histogram.counts) == 500 and histogram.sampled_from == 20_000
    assert (histogram.count, histogram.nulls) == (20_000, 40)
    assert histogram.min == values.min() and histogram.max == values.max()
    assert histogram.mean == pytest.approx(values.mean())
    assert "bins from a uniform sample of 500 values" in render_text(_report_with(histogram))


def test_top_values_prune_rare_values_and_say_so():
    top = TopValues(max_keys=100)
    top.add([f"rare-{i}" for i in range(1000)] + ["common"] * 50)
    table = top.table(3)
    assert table.rows[0][:2] == ["common", 50] and len(top.counts) <= 100 and "lower bounds" in table.note


def _report_with(histogram):
    from dataflow.inspect.report import Report

    return Report(kind="parquet", path="x", histograms={"x": histogram})


def test_funnel_follows_a_recorded_input_path_to_stages_elsewhere(pipeline, tmp_path):
    source = tmp_path / "tokens" / "web"
    source.mkdir(parents=True)
    (source / "stats.json").write_text(json.dumps({
        "stage": "tokenize", "fingerprint": "fp-tokenize", "inputs": ["fp-filter", "tokenizer-sha"],
        "input": str(pipeline / "clean"), "rows_in": 120, "documents": 120}))
    (source / "_SUCCESS").write_text("")
    rows = funnel_table(chain_to(source)).rows
    assert [row[:2] for row in rows] == [["extract", "docs"], ["filter", "clean"], ["tokenize", "web"]]
