"""The filter job in real Spark local mode on a sample crawl's pages as extracted: counts per rule,
measured values on kept rows, edited text, line-rule statistics, stricter thresholds as a `where`,
and the CLI."""

from __future__ import annotations


import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

import cli
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.gopher import GopherWordCount
from dataflow.filters.screens import screen
from jobs import filter as filter_job
from bench.common.real_pages import write_documents
from tests.sample_documents import sample_crawl_documents
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

WIKI_PAGE_ID = "planted/wiki-copy"
ONE_WORD, JAVASCRIPT, COOKIES = ("Contents.", "Please enable JavaScript to see the map.",
                                 "This site uses cookies to remember your settings.")


def wiki_copy(article: dict) -> dict:
    """`article` laid out as a copy of a wiki page, the line rules' cases the sample crawl lacks:
    citation marks after sentences and an "[edit]" link, a one-word line, a JavaScript notice and
    a cookie notice."""
    title, *paragraphs = article["text"].split("\n")
    cited = [paragraph.replace(". ", f".[{n}] ") for n, paragraph in enumerate(paragraphs, 1)]
    lines = [f"{title} [edit]", *cited, ONE_WORD, JAVASCRIPT, COOKIES]
    return {**article, "id": WIKI_PAGE_ID, "text": "\n".join(lines)}


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """A documents folder: the pages the extract stage keeps from a sample crawl of 150 (articles,
    copies, link lists, spam, degenerate pages such as ten thousand slashes: the mix a filter
    meets) and a wiki copy of one of its articles."""
    folder = tmp_path_factory.mktemp("filter")
    pages = sample_crawl_documents(folder / "warc", 150, seed=5)
    english = next(page for page in pages if page["language"] == "en" and page["text"].count(". ") > 5)
    return write_documents(folder / "docs", [*pages, wiki_copy(english)])


@pytest.fixture(scope="module")
def slash_page(documents) -> dict:
    """The sample crawl's page of ten thousand slashes (dataflow/samples/degenerate.py), as extracted."""
    return next(row for row in pq.read_table(documents).to_pylist() if "/" * 10_000 in row["text"])


@pytest.fixture(scope="module")
def filtered(spark, documents):
    out = documents.parent / "filtered"
    assert filter_job.main(["--input", str(documents), "--output", str(out)]) == 0
    return out


def test_stats_count_rows_per_rule(filtered, documents):
    stats = stats_of(filtered)
    assert (stats["rows_in"], stats["rows_out"]) == (pq.read_table(documents).num_rows, 92) == (147, 92)
    # Listings fail c4_min_sentences, spam the Gopher rules, each degenerate page its own rule.
    assert stats["rejected_by_reason"] == {
        "c4_lorem_ipsum": 1, "c4_min_sentences": 25, "degenerate_char_run": 2, "degenerate_long_word": 1,
        "degenerate_non_printable": 1, "dup_5gram_char_frac": 2, "dup_line_frac": 5, "gopher_alpha_words": 6,
        "gopher_bullet_lines": 3, "gopher_stop_words": 4, "gopher_word_count": 5}


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


def test_rejected_rows_carry_the_first_failing_rule_and_its_value(filtered, slash_page):
    rejected = {row["id"]: row for row in pq.read_table(filtered / "rejected").to_pylist()}
    slash = rejected[slash_page["id"]]
    assert (slash["reject_reason"], slash["reject_value"]) == ("degenerate_char_run", "10000")
    assert slash["text"] == slash_page["text"]  # rejected rows keep the text they arrived with


def test_line_rule_statistics_are_in_stats_json(filtered):
    """The wiki copy's planted lines, one per rule, and the sample crawl's unterminated lines (titles)."""
    assert stats_of(filtered)["extra"]["line_rules"] == {
        "c4_long_word_line": {"lines": 0, "chars": 0}, "c4_citations": {"lines": 0, "chars": 31},
        "c4_terminal_punct": {"lines": 335, "chars": 8994},
        "c4_min_line_words": {"lines": 1, "chars": len(ONE_WORD)},
        "c4_javascript_line": {"lines": 1, "chars": len(JAVASCRIPT)},
        "c4_policy_line": {"lines": 1, "chars": len(COOKIES)}}


def test_a_stricter_threshold_later_is_a_where(spark, documents, filtered):
    """A threshold given for all languages leaves those with their own default (Chinese and Japanese
    count characters) at it; the rerun keeps what a `where` on the first run's values keeps."""
    kept = spark.read.parquet(str(filtered / "data"))
    own = list(GopherWordCount.language_defaults)
    stricter = kept.where((F.col("filter_values")["gopher_word_count"] >= 300) | F.col("language").isin(own)).count()
    rerun = documents.parent / "stricter"
    filter_job.main(["--input", str(documents), "--output", str(rerun),
                     "--thresholds", "{gopher_word_count: {min_words: 300}}"])
    assert stats_of(rerun)["rows_out"] == stricter < stats_of(filtered)["rows_out"]


def test_inspect_rejected_lists_reasons_with_examples(filtered, capsys):
    rejected = pq.read_table(filtered / "rejected").to_pylist()
    assert cli.main(["inspect", str(filtered), "--rejected", "--examples", "1"]) == 0
    out = capsys.readouterr().out
    assert "degenerate_char_run" in out and "line rules" in out
    for reason in {row["reject_reason"] for row in rejected}:  # one example of each
        assert sum(row["id"] in out for row in rejected if row["reject_reason"] == reason) == 1, reason


def test_inspect_explain_shows_every_rule_for_a_document_id_and_a_text_file(documents, slash_page, tmp_path, capsys):
    assert cli.main(["inspect", "explain", slash_page["id"], "--input", str(documents)]) == 0
    out = capsys.readouterr().out
    assert "degenerate_char_run" in out and "fineweb_list_ratio" in out
    assert "verdict: rejected by degenerate_char_run = 10000" in out
    text_file = tmp_path / "page.txt"
    text_file.write_text("Short text.\n")
    assert cli.main(["inspect", "explain", str(text_file), "--language", "en"]) == 0
    assert "verdict: rejected by gopher_word_count = 2" in capsys.readouterr().out
