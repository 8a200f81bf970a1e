"""The extract job with the quality gate (`--quality-prefilter`), in real Spark local mode: the pages
the gate drops land in rejected/ as `quality_prefilter:<rule>`, stats.json counts them, counts add up."""

from __future__ import annotations

import pytest
import pyarrow.parquet as pq

from jobs import extract
from tests.dataflow.test_quality_gate import gate_test_pages
from tests.stage_outputs import stats_of
from bench.common.warc_builder import Page, write_warc

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)


def test_gated_pages_land_in_rejected_with_the_rule_and_the_counts_add_up(spark, shared_data, tmp_path):
    warc = write_warc(tmp_path / "real.warc.gz", [Page(f"http://real.example/{i}", body)
                                                  for i, body in enumerate(gate_test_pages(shared_data))])
    out = tmp_path / "docs"
    assert extract.main(["--input", str(warc), "--output", str(out), "--quality-prefilter"]) == 0
    stats = stats_of(out)
    assert stats["rejected_by_reason"]["quality_prefilter:gopher_bullet_lines"] == 1
    assert stats["extra"]["cascade"]["quality_prefilter"] == 1
    rejected = pq.read_table(out / "rejected").to_pylist()
    gated = [row for row in rejected if row["reject_reason"].startswith("quality_prefilter:")]
    assert [(row["url"], row["reject_value"], row["text"]) for row in gated] == [("http://real.example/40", "1", None)]
    not_written = sum(stats["rejected_by_reason"][reason] for reason in stats["not_written_reasons"])
    assert pq.read_table(out / "data").num_rows + len(rejected) + not_written == stats["rows_in"] == 60

    plain = tmp_path / "plain"
    assert extract.main(["--input", str(warc), "--output", str(plain)]) == 0  # without the flag: no gate
    assert stats_of(plain)["extra"]["cascade"]["quality_prefilter"] == 0
    plain_rejected = {row["url"]: row["reject_reason"] for row in pq.read_table(plain / "rejected").to_pylist()}
    assert plain_rejected["http://real.example/40"] == "no_text"  # trafilatura finds no main text there either
