"""Extraction on real pages: parity with trafilatura, time limit, size cap, language ID."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
import trafilatura

from dataflow.extract.charset import decode_html
from dataflow.extract.records import ExtractConfig, _guarded_row, extract_file, make_cascade
from dataflow.extract.warc import Record, read_archive
from dataflow.extract.langid import default_model_path
from dataflow.schema import record_doc_id
from bench.common.warc_builder import Page, real_pages, write_warc, write_wet


@pytest.fixture(scope="module")
def pages(shared_data):
    return real_pages(shared_data, 40)


@pytest.fixture(scope="module")
def warc(pages, tmp_path_factory):
    path = tmp_path_factory.mktemp("warc") / "real.warc.gz"
    return write_warc(path, [Page(f"http://real.example/{i}", body) for i, (_, body) in enumerate(pages)])


def rows(path, **settings) -> list[dict]:
    batches = list(extract_file(str(path), ExtractConfig(**settings), default_model_path()))
    return pa.Table.from_batches(batches).to_pylist()


def test_text_equals_trafilatura_on_the_same_decoded_html(pages, warc):
    result = {row["url"]: row for row in rows(warc)}
    extracted = {url: row for url, row in result.items() if row["reject_reason"] is None}
    assert len(extracted) >= 30
    for i, (_, body) in enumerate(pages):
        if len(body) > ExtractConfig().max_html_bytes:
            assert result[f"http://real.example/{i}"]["reject_reason"] == "too_large"
            continue
        html, _ = decode_html(body)
        expected = trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False)
        row = extracted.get(f"http://real.example/{i}")
        assert (row["text"] if row else None) == (expected or None), f"page {i} differs"


def test_every_record_becomes_exactly_one_row(pages, warc):
    reasons = Counter(row["reject_reason"] for row in rows(warc))
    assert reasons["record_warcinfo"] == 1
    assert sum(reasons.values()) == len(pages) + 1


def test_cpu_time_limit_rejects_slow_pages_by_name(warc):
    reasons = Counter(row["reject_reason"] for row in rows(warc, extract_timeout_seconds=1e-6))
    assert reasons["extract_timeout"] >= 30


def test_pages_over_the_size_cap_are_rejected_unread(warc):
    rejected = [row for row in rows(warc, max_html_bytes=20_000) if row["reject_reason"] == "too_large"]
    assert rejected and all(int(row["reject_value"]) > 20_000 and row["text"] is None for row in rejected)


def test_language_is_identified_on_real_pages(pages, warc):
    by_url = {row["url"]: row for row in rows(warc) if row["reject_reason"] is None}
    agree = [by_url[f"http://real.example/{i}"]["language"] == meta["lang"]
             for i, (meta, _) in enumerate(pages) if f"http://real.example/{i}" in by_url and meta.get("lang")]
    assert sum(agree) / len(agree) >= 0.9


def test_keep_list_and_thresholds_reject_with_language_and_score(warc):
    result = rows(warc, keep_languages=["en"], language_min_scores={"en": 0.5})
    rejected = [row for row in result if row["reject_reason"] == "language"]
    kept = [row for row in result if row["reject_reason"] is None]
    assert rejected and all(":" in row["reject_value"] for row in rejected)
    assert all(row["language"] == "en" and row["language_score"] >= 0.5 for row in kept)


def test_non_html_and_error_statuses_are_rejected_cheaply(tmp_path):
    path = write_warc(tmp_path / "mixed.warc.gz", [
        Page("http://a.example/logo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png"),
        Page("http://a.example/missing", b"<html>gone</html>", status="404 Not Found"),
        Page("http://a.example/feed", b"{}", content_type="application/json"),
    ], with_requests=True)
    reasons = Counter((row["reject_reason"], row["reject_value"]) for row in rows(path))
    assert reasons == Counter({("record_warcinfo", "warcinfo"): 1, ("record_request", "request"): 3,
                               ("non_html", "image/png"): 1, ("http_status", "404"): 1,
                               ("non_html", "application/json"): 1})


def test_a_record_that_breaks_extraction_ends_as_a_record_error_row_naming_the_error():
    """The per-record guard: a bug on one record costs that record (counted), never the task."""
    config = ExtractConfig()
    record = Record("response", 123, record_id="<urn:uuid:x>", url="http://example.com/a", http_status=200,
                    content_type="text/html", content_length=22, payload="<html>not bytes</html>")  # str, not bytes
    row = _guarded_row(record, "file.warc.gz", None, config, make_cascade(config, default_model_path()))
    assert (row["url"], row["warc_offset"], row["reject_reason"]) == ("http://example.com/a", 123, "record_error")
    assert row["reject_value"].startswith("TypeError: ")


def test_wet_text_is_taken_as_extracted_and_language_identified(tmp_path):
    texts = {"http://wet.example/en": "The river runs past the old mills where farmers brought their grain.\nEach "
                                      "autumn the valley filled with carts and the sound of the wheels.",
             "http://wet.example/de": "Der Fluss fließt an den alten Mühlen vorbei, wo die Bauern ihr Korn brachten.",
             "http://wet.example/empty": "  \n"}
    wet = write_wet(tmp_path / "CC-MAIN-2024-10-00000.warc.wet.gz", texts)
    result = rows(wet, keep_languages=["en"])
    records = {record.url: record for record in read_archive(str(wet), max_payload_bytes=1 << 20)}
    assert [row["reject_reason"] for row in result] == ["record_warcinfo", None, "language", "no_text"]
    document = result[1]
    assert (document["url"], document["text"], document["language"]) == ("http://wet.example/en",
                                                                          texts["http://wet.example/en"], "en")
    record = records[document["url"]]
    assert document["id"] == record_doc_id(record.record_id, str(wet), record.offset)
    assert result[2]["reject_value"].startswith("de:") and result[2]["text"] == texts["http://wet.example/de"]
