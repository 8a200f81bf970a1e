"""`extractor: resiliparse` beside trafilatura, on real pages in a real WARC."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dataflow.extract.charset import decode_html
from dataflow.extract.langid import default_model_path
from dataflow.extract.repair import TextRepairConfig, repair_text
from dataflow.extract.records import EXTRACT_OUTPUT_SCHEMA, ExtractConfig, extract_file
from dataflow.extract.resiliparse_text import extract_main_text
from tests.dataflow.test_extract import pages, warc  # noqa: F401 (fixtures: the same 40 real pages in one WARC)


def extracted(path, **settings) -> pa.Table:
    return pa.Table.from_batches(list(extract_file(str(path), ExtractConfig(**settings), default_model_path())))


def test_resiliparse_extractor_writes_resiliparse_main_text_in_the_same_schema(pages, warc):
    table = extracted(warc, extractor="resiliparse")
    assert table.schema == EXTRACT_OUTPUT_SCHEMA
    rows = {row["url"]: row for row in table.to_pylist()}
    kept = 0
    for i, (_, body) in enumerate(pages):
        row = rows[f"http://real.example/{i}"]
        if row["reject_reason"] in ("too_large", "no_text"):
            continue
        expected, _ = repair_text(extract_main_text(decode_html(body)[0]),
                                  TextRepairConfig())  # repair runs after any extractor
        assert row["text"] == expected, f"page {i} differs"
        kept += row["reject_reason"] is None
    assert kept == 39


def test_resiliparse_and_trafilatura_agree_on_most_pages_languages(warc):
    fast = {row["url"]: row["language"] for row in extracted(warc, extractor="resiliparse").to_pylist()
            if row["reject_reason"] is None}
    slow = {row["url"]: row["language"] for row in extracted(warc).to_pylist() if row["reject_reason"] is None}
    both = fast.keys() & slow.keys()
    assert len(both) == 39 and sum(fast[url] == slow[url] for url in both) >= len(both) - 2


def test_unknown_extractor_is_refused_by_the_config():
    with pytest.raises(ValueError, match="extractor"):
        ExtractConfig(extractor="boilerpipe")


def test_trafilatura_fast_is_trafilatura_without_its_fallbacks(pages, warc):
    import trafilatura

    rows = {row["url"]: row for row in extracted(warc, extractor="trafilatura_fast").to_pylist()}
    for i, (_, body) in enumerate(pages[:10]):
        row = rows[f"http://real.example/{i}"]
        if row["reject_reason"] in ("too_large", "no_text"):
            continue
        html = decode_html(body)[0]
        expected = trafilatura.extract(html, fast=True, favor_precision=True, include_comments=False,
                                       include_tables=True, deduplicate=False, output_format="txt")
        assert row["text"] == repair_text(expected, TextRepairConfig())[0], f"page {i} differs"
