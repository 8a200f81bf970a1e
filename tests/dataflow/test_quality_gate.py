"""The extract cascade's quality gate: the filter's rules, loosened by measured margins, on
Resiliparse's text before trafilatura; a page it drops is one the full path drops too."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from dataflow.extract.langid import default_model_path
from dataflow.extract.quality_gate import MARGINS, PREFIX, QualityGate, gate_rule_names, loosened
from dataflow.extract.records import ExtractConfig, extract_file, make_cascade
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet, make_rule
from bench.common.warc_builder import Page, real_pages, write_warc


def test_loosening_moves_every_threshold_outward_by_the_factor():
    config = FilterConfig()
    assert loosened(make_rule(config, "gopher_word_count", None), 2).min_words == 25
    assert loosened(make_rule(config, "gopher_word_count", None), 2).max_words == 200_000
    assert loosened(make_rule(config, "gopher_hash_ratio", None), 3).max_ratio == pytest.approx(0.3)
    assert loosened(make_rule(config, "gopher_stop_words", None), 4).min_count == 0.5
    assert loosened(make_rule(config, "gopher_mean_word_length", "zh"), 2).min_chars == 0.5  # zh thresholds


def test_only_rules_with_a_margin_before_the_first_line_rule_are_gated():
    margins = {"gopher_word_count": 2.0, "c4_min_sentences": 2.0, "dup_line_frac": 2.0}
    assert gate_rule_names(FilterConfig(), margins) == ["gopher_word_count", "dup_line_frac"]
    reordered = FilterConfig(rules=["c4_terminal_punct", "gopher_word_count"])
    assert gate_rule_names(reordered, margins) == []  # after a line rule the filter sees C4's edited text


def test_a_page_failing_a_rule_by_its_margin_is_rejected_with_the_rule_and_value():
    gate = QualityGate(FilterConfig(), {"gopher_word_count": 2.0})
    assert gate.check("Only a few words here.", "en") == (PREFIX + "gopher_word_count", "5")
    assert gate.check(" ".join(["word"] * 30), "en") is None  # 30 words: fails the filter, not the margin
    chinese = "今天下雨了。" * 8  # 40 units: over half of English's 50, under half of Chinese's 100
    assert gate.check(chinese, "en") is None
    assert gate.check(chinese, "zh") == (PREFIX + "gopher_word_count", "40")
    assert QualityGate(FilterConfig(), {}).check("Only a few words here.", "en") is None


def test_the_measured_margins_are_all_above_one_and_name_real_rules():
    assert MARGINS and all(factor > 1 for factor in MARGINS.values())
    assert set(gate_rule_names(FilterConfig(), MARGINS)) == set(MARGINS)


def gate_test_pages(shared_data) -> list[bytes]:
    """59 real pages spread over the sources (every 29th), among them at index 40 the one page of the
    1,695 that the measured gate drops (bench.cascade --tune): trafilatura/elperuanoa.pe-logran, whose
    Resiliparse text is all bullet lines (share 1.0 > 0.9 x 1.1); the full path rejects it too."""
    return [body for _, body in real_pages(shared_data, 60, step=29)]


@pytest.fixture(scope="module")
def warc(shared_data, tmp_path_factory):
    return write_warc(tmp_path_factory.mktemp("gate") / "real.warc.gz",
                      [Page(f"http://real.example/{i}", body) for i, body in enumerate(gate_test_pages(shared_data))])


def rows(path, filter_config=None, **settings) -> dict[str, dict]:
    config = ExtractConfig(**settings)
    cascade = make_cascade(config, default_model_path(), filter_config)
    table = pa.Table.from_batches(list(extract_file(str(path), config, default_model_path(), cascade)))
    return {row["url"]: row for row in table.to_pylist()}


@pytest.mark.slow
def test_the_gate_drops_only_pages_the_full_path_drops_and_every_record_is_one_row(warc):
    config = FilterConfig()
    full, gated = rows(warc), rows(warc, config)
    assert full.keys() == gated.keys()  # one row per record, the gate's rejects included
    rules = RuleSet(config)
    dropped = [url for url, row in gated.items() if (row["reject_reason"] or "").startswith(PREFIX)]
    assert dropped == ["http://real.example/40"]
    for url in dropped:
        assert gated[url]["text"] is None and gated[url]["reject_value"]  # trafilatura never ran
        row = full[url]
        kept = row["reject_reason"] is None and not evaluate(row["text"], rules.steps(row["language"]),
                                                             row["language"], url).rejections
        assert not kept, f"{url}: the full path keeps what the gate dropped ({gated[url]['reject_reason']})"
    same = Counter(row["reject_reason"] for url, row in gated.items() if url not in dropped)
    assert same == Counter(full[url]["reject_reason"] for url in full if url not in dropped)


@pytest.mark.slow
def test_the_gate_is_off_without_the_filter_config_when_disabled_or_with_resiliparse(warc):
    config = FilterConfig()
    for gated in (rows(warc), rows(warc, config, quality_prefilter=False),
                  rows(warc, config, extractor="resiliparse")):
        assert not any((row["reject_reason"] or "").startswith(PREFIX) for row in gated.values())
