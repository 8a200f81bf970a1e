"""The filter job in real Spark local mode on real pages: counts per rule, measured values on
kept rows, edited text, line-rule statistics, stricter thresholds as a `where`, and the CLI."""

from __future__ import annotations


import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

import cli
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.screens import screen
from jobs import filter as filter_job
from bench.common.real_pages import load_pages, write_documents
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

SLASH_PAGE_ID = "synthetic/ten-thousand-slashes"


@pytest.fixture(scope="module")
def documents(shared_data, tmp_path_factory):
    """A documents folder: 120 real pages (evenly spaced by id) and the ten-thousand-slash page."""
    pages = load_pages(shared_data)
    slash_page = {"id": SLASH_PAGE_ID, "text": "/" * 10_000, "language": "en", "url": None}
    return write_documents(tmp_path_factory.mktemp("filter") / "docs", [*pages[::len(pages) // 120][:120], slash_page])


@pytest.fixture(scope="module")
def filtered(spark, documents):
    out = documents.parent / "filtered"
    assert filter_job.main(["--input", str(documents), "--output", str(out)]) == 0
    return out


def test_stats_count_rows_per_rule(filtered):
    stats = stats_of(filtered)
    assert (stats["rows_in"], stats["rows_out"]) == (121, 89)
    assert stats["rejected_by_reason"] == {
        "c4_curly_bracket": 1, "c4_min_sentences": 10, "degenerate_char_run": 1, "degenerate_non_printable": 1,
        "dup_line_char_frac": 1, "gopher_alpha_words": 14, "gopher_mean_word_length": 1, "gopher_word_count": 3}


def test_kept_rows_carry_measured_values_and_the_c4_edited_text(filtered, documents):
    kept = pq.read_table(filtered / "data").to_pylist()
    source = {row["id"]: row for row in pq.read_table(documents).to_pylist()}
    config = FilterConfig()
    rules = RuleSet(config)
    for row in kept[:20]:
        original = source[row["id"]]
        verdict = evaluate(original["text"], rules.steps(original["language"]), original["language"], original["url"])
        screen([verdict], [original["language"]], config.toxicity, config.pii)  # personal data masked
        assert row["text"] == verdict.text
        assert dict(row["filter_values"]) == pytest.approx(verdict.values)
    assert "reject_reason" not in pq.read_table(filtered / "data").column_names


def test_rejected_rows_carry_the_first_failing_rule_and_its_value(filtered):
    rejected = {row["id"]: row for row in pq.read_table(filtered / "rejected").to_pylist()}
    slash = rejected[SLASH_PAGE_ID]
    assert (slash["reject_reason"], slash["reject_value"]) == ("degenerate_char_run", "10000")
    assert slash["text"] == "/" * 10_000  # rejected rows keep the text they arrived with


def test_line_rule_statistics_are_in_stats_json(filtered):
    assert stats_of(filtered)["extra"]["line_rules"] == {
        "c4_long_word_line": {"lines": 0, "chars": 0}, "c4_citations": {"lines": 31, "chars": 124},
        "c4_terminal_punct": {"lines": 836, "chars": 38105}, "c4_min_line_words": {"lines": 18, "chars": 68},
        "c4_javascript_line": {"lines": 0, "chars": 0}, "c4_policy_line": {"lines": 0, "chars": 0}}


def test_a_stricter_threshold_later_is_a_where(spark, documents, filtered):
    kept = spark.read.parquet(str(filtered / "data"))
    stricter = kept.where(F.col("filter_values")["gopher_word_count"] >= 300).count()
    rerun = documents.parent / "stricter"
    filter_job.main(["--input", str(documents), "--output", str(rerun),
                     "--thresholds", "{gopher_word_count: {min_words: 300}}"])
    assert stats_of(rerun)["rows_out"] == stricter < stats_of(filtered)["rows_out"]


def test_inspect_rejected_lists_reasons_with_examples(filtered, capsys):
    assert cli.main(["inspect", str(filtered), "--rejected", "--examples", "1"]) == 0
    out = capsys.readouterr().out
    assert "degenerate_char_run" in out and SLASH_PAGE_ID in out and "line rules" in out


def test_inspect_explain_shows_every_rule_for_a_document_id_and_a_text_file(documents, tmp_path, capsys):
    assert cli.main(["inspect", "explain", SLASH_PAGE_ID, "--input", str(documents)]) == 0
    out = capsys.readouterr().out
    assert "degenerate_char_run" in out and "fineweb_list_ratio" in out
    assert "verdict: rejected by degenerate_char_run = 10000" in out
    text_file = tmp_path / "page.txt"
    text_file.write_text("Short text.\n")
    assert cli.main(["inspect", "explain", str(text_file), "--language", "en"]) == 0
    assert "verdict: rejected by gopher_word_count = 2" in capsys.readouterr().out
