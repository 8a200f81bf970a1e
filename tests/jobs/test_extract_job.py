"""The extract job in real Spark local mode: counts on the shared WARC files of other tools; layout,
rerun skip and spark-submit parity on the sample crawl (dataflow/samples), which any clone has."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import cli
from dataflow.errors import InputError
from dataflow.samples import write_sample_warcs
from jobs import extract
from jobs.common.stage_io import read_stage_input
from tests.conftest import REPO_ROOT
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)



@pytest.fixture(scope="module")
def all_shared(spark, shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("extract") / "docs"
    assert extract.main(["--input", str(shared_data / "warc"), "--output", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sample_warcs(tmp_path_factory) -> list[str]:
    """The smallest sample crawl that has every kind of page (100 HTML pages), in four WARC files."""
    summary = write_sample_warcs(tmp_path_factory.mktemp("sample") / "warc", num_pages=100, num_files=4, seed=7)
    return [str(path) for path in summary.warc_paths]


@pytest.fixture(scope="module")
def sample_docs(spark, sample_warcs, tmp_path_factory):
    """The sample crawl extracted by `dataflow run extract`."""
    out = tmp_path_factory.mktemp("extract_sample") / "docs"
    assert cli.main(["run", "extract", *(arg for path in sample_warcs for arg in ("--input", path)),
                     "--output", str(out)]) == 0
    return out


def test_every_shared_warc_gives_pinned_counts(all_shared):
    stats = stats_of(all_shared)
    assert stats["rows_out"] == 107  # 106 pages of the WARCs and the one page of the WET file
    # One response whose HTTP head has no status line is `not_http` from its headers: its body,
    # truncated, is never read (the cascade's header rejects, dataflow/extract/cascade.py).
    assert stats["rejected_by_reason"] == {
        "http_status": 14, "no_text": 10, "non_html": 38, "not_http": 4, "record_metadata": 36, "record_other": 3,
        "record_request": 267, "record_resource": 13, "record_revisit": 136, "record_warcinfo": 33,
        "truncated_record": 1, "unreadable_record": 2}
    assert stats["extra"]["cascade"] == {"language_prefilter": 0, "quality_prefilter": 0, "payload_digest_reused": 1}


def test_counts_add_up_to_rows_written(all_shared):
    stats = stats_of(all_shared)
    not_written = sum(stats["rejected_by_reason"][r] for r in stats["not_written_reasons"])
    rejected = pq.read_table(all_shared / "rejected")
    # every record read is a kept row or a rejected row, counted in the Parquet output, or a record
    # counted but not written (requests, metadata, ...)
    assert pq.read_table(all_shared / "data").num_rows + rejected.num_rows + not_written == stats["rows_in"] == 664
    assert None not in rejected.column("reject_reason").to_pylist()


def test_stage_folder_layout(sample_docs):
    assert sorted(os.listdir(sample_docs)) == ["_SUCCESS", "data", "rejected", "stats.json"]
    assert not list(sample_docs.parent.glob("docs.tmp-*")) and not list(sample_docs.parent.glob("docs.old-*"))
    kept = pq.read_table(sample_docs / "data")
    assert kept.column_names[:12] == ["id", "url", "domain", "crawl", "fetch_time", "warc_path", "warc_offset",
                                      "source", "text", "title", "language", "language_score"]
    assert "reject_reason" not in kept.column_names


def test_rerun_with_same_input_and_config_is_skipped(spark, sample_warcs, tmp_path):
    args = ["--input", sample_warcs[0], "--output", str(tmp_path / "docs")]
    extract.main(args)
    before = (tmp_path / "docs" / "_SUCCESS").stat().st_mtime_ns, stats_of(tmp_path / "docs")
    extract.main(args)
    assert ((tmp_path / "docs" / "_SUCCESS").stat().st_mtime_ns, stats_of(tmp_path / "docs")) == before
    extract.main(args + ["--source", "news"])  # a changed config recomputes
    assert stats_of(tmp_path / "docs")["config"]["source"] == "news"
    extract.main(args + ["--source", "news", "--force"])
    assert (tmp_path / "docs" / "_SUCCESS").stat().st_mtime_ns != before[0]


def test_incomplete_stage_output_is_refused_as_input(spark, sample_docs, tmp_path):
    broken = tmp_path / "broken"
    (broken / "data").mkdir(parents=True)
    with pytest.raises(InputError, match="incomplete stage output"):
        read_stage_input(spark, str(broken))
    assert read_stage_input(spark, str(sample_docs)).count() == stats_of(sample_docs)["rows_out"] > 0


def test_spark_submit_gives_the_same_output_as_dataflow_run(spark, sample_warcs, tmp_path):
    inputs = [arg for path in sample_warcs[:2] for arg in ("--input", path)]  # 50 pages: the run is done twice
    assert cli.main(["run", "extract", *inputs, "--output", str(tmp_path / "via_cli")]) == 0
    spark_submit = os.path.join(os.path.dirname(sys.executable), "spark-submit")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
           "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([spark_submit, "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                           str(REPO_ROOT / "jobs" / "extract.py"), *inputs, "--output", str(tmp_path / "via_submit")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    def documents(folder):
        table = pq.read_table(folder / "data", columns=["id", "text", "language"])
        return sorted(zip(*table.to_pydict().values()))

    assert documents(tmp_path / "via_submit") == documents(tmp_path / "via_cli")
    cli_stats, submit_stats = stats_of(tmp_path / "via_cli"), stats_of(tmp_path / "via_submit")
    assert cli_stats["rejected_by_reason"] == submit_stats["rejected_by_reason"]
    assert cli_stats["fingerprint"] == submit_stats["fingerprint"]


def test_inspect_doc_prints_text_and_provenance(sample_docs, capsys):
    row = pq.read_table(sample_docs / "data", columns=["id", "url"]).slice(0, 1).to_pylist()[0]
    assert cli.main(["inspect", "doc", row["id"], str(sample_docs), "--raw"]) == 0
    out = capsys.readouterr().out
    assert row["url"] in out and '"warc_offset"' in out and "WARC-Record-ID" in out


def test_unknown_config_key_is_one_line_error(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("extract:\n  max_html_byte: 10\n")
    code = cli.main(["run", "extract", "--input", "x.warc.gz", "--output", str(tmp_path / "o"),
                     "--config", str(tmp_path / "bad.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "unknown key 'extract.max_html_byte'" in err[0] and "max_html_bytes" in err[0]


def test_text_fixes_column_and_stats_agree_and_real_pages_need_no_repair(all_shared):
    kept = pq.read_table(all_shared / "data", columns=["text_fixes"]).column("text_fixes").to_pylist()
    per_kind = {}
    for kinds in kept:
        for kind in kinds or []:
            per_kind[kind] = per_kind.get(kind, 0) + 1
    # The 107 pages of the shared WARC and WET files are well-formed UTF-8 after decoding: nothing to repair.
    assert stats_of(all_shared)["extra"]["text_fixes"] == per_kind == {}
