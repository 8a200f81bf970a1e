"""`dataflow filters calibrate` (dataflow/filters/calibrate.py): thresholds from reference text."""

from __future__ import annotations

import gzip

import pytest
import yaml

import cli
from dataflow.filters.calibrate import calibrate, overrides_yaml, reference_documents
from dataflow.filters.config import FilterConfig
from dataflow.pipeline import load_pipeline_config


@pytest.fixture(scope="module")
def japanese_book(shared_data) -> str:
    return str(shared_data / "text" / "books" / "wagahaiwa_nekodearu.txt.gz")


def test_text_references_are_cut_into_documents_at_line_ends(tmp_path):
    path = tmp_path / "sentences.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("".join(f"sentence {i} is here.\n" for i in range(100)))
    documents = list(reference_documents(str(path), doc_chars=200))
    assert len(documents) == 10 and all(len(doc) >= 190 for doc in documents)
    assert "\n".join(documents).splitlines() == [f"sentence {i} is here." for i in range(100)]


@pytest.mark.parametrize(("tighten", "changed"), [(False, {"fineweb_line_punct": {"min_frac": 0.0372}}),
                                                   (True, None)])
def test_a_bound_rejecting_more_than_the_percentile_of_clean_text_is_loosened(japanese_book, tighten, changed):
    config = FilterConfig(rules=["fineweb_line_punct", "gopher_word_count"])
    result = calibrate({"ja": [japanese_book]}, config, percentile=1.0, tighten=tighten)
    proposals = {(p.rule, p.field): p for p in result.proposals["ja"]}
    line_punct = proposals[("fineweb_line_punct", "min_frac")]
    # 145 documents: the 1st percentile falls between the 2nd and 3rd lowest values
    assert (line_punct.rejected_now, line_punct.rejected_proposed) == pytest.approx((11 / 145, 2 / 145))
    languages = yaml.safe_load(overrides_yaml(result))["filter"]["languages"]
    if changed is not None:  # only loosening: the word-count bounds the book stays inside are left alone
        assert languages == {"ja": changed}
    else:
        assert languages["ja"]["gopher_word_count"]["max_words"] < 300_000


def test_the_command_writes_a_config_the_filter_stage_reads(japanese_book, tmp_path, capsys):
    output = tmp_path / "ja.yaml"
    assert cli.main(["filters", "calibrate", "--reference", f"ja={japanese_book}", "--output", str(output)]) == 0
    assert "fineweb_line_punct.min_frac" in capsys.readouterr().out
    # 0.0376 before issue 27: C4 now keeps the whole sentences of the book's 17 lines wrapped mid-sentence
    assert load_pipeline_config(output).filter.languages["ja"]["fineweb_line_punct"] == {"min_frac": 0.0533}


def test_a_reference_without_language_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["filters", "calibrate", "--reference", "book.txt", "--output", str(tmp_path / "o.yaml")]) == 2
    assert "give LANG=PATH" in capsys.readouterr().err
