"""The extract cascade on real pages: header rejects leave bodies unread, repeated payloads are
extracted once, and the language pre-filter drops only pages the full path drops too."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from dataflow.extract.cascade import REUSED
from dataflow.extract.langid import default_model_path
from dataflow.extract.records import ExtractConfig, extract_file
from dataflow.extract.warc import read_archive
from bench.common.warc_builder import Page, real_pages, write_warc


@pytest.fixture(scope="module")
def pages(shared_data):
    return real_pages(shared_data, 60, step=23)


@pytest.fixture(scope="module")
def warc(pages, tmp_path_factory):
    path = tmp_path_factory.mktemp("warc") / "real.warc.gz"
    return write_warc(path, [Page(f"http://real.example/{i}", body) for i, (_, body) in enumerate(pages)])


def rows(path, **settings) -> list[dict]:
    return pa.Table.from_batches(list(extract_file(str(path), ExtractConfig(**settings),
                                                   default_model_path()))).to_pylist()


def test_status_and_declared_type_reject_a_response_without_reading_its_body(pages, tmp_path):
    body = pages[0][1]
    path = write_warc(tmp_path / "mixed.warc.gz", [
        Page("http://a.example/missing", body, status="404 Not Found"),
        Page("http://a.example/logo.png", body, content_type="image/png"),
        Page("http://a.example/page", body)])
    records = {r.url: r for r in read_archive(str(path), max_payload_bytes=10**7) if r.record_type == "response"}
    assert [records[url].payload is None for url in sorted(records)] == [True, True, False]
    reasons = {row["url"]: row["reject_reason"] for row in rows(path)}
    assert reasons == {"http://a.example/missing": "http_status", "http://a.example/logo.png": "non_html",
                       "http://a.example/page": None, None: "record_warcinfo"}


def test_a_payload_seen_before_in_the_task_reuses_its_extraction(pages, tmp_path):
    first, second = pages[1][1], pages[2][1]
    path = write_warc(tmp_path / "repeats.warc.gz", [Page(f"http://b.example/{i}", body)
                                                     for i, body in enumerate([first, second, first, first])])
    got = [row for row in rows(path) if row["url"]]
    assert [row["reject_value"] for row in got] == [None, None, REUSED, REUSED]
    assert got[2]["text"] == got[3]["text"] == got[0]["text"] and got[0]["text"]
    assert got[2]["language"] == got[0]["language"] and got[2]["id"] != got[0]["id"]


def test_language_prefilter_rejects_off_language_pages_the_full_path_also_rejects(warc):
    full = {row["url"]: row["reject_reason"] for row in rows(warc, keep_languages=["en"],
                                                             language_prefilter_min_score=None)}
    cascade = {row["url"]: (row["reject_reason"], row["reject_value"]) for row in rows(warc, keep_languages=["en"])}
    assert Counter(full.values()) == {None: 23, "language": 36, "no_text": 1, "record_warcinfo": 1}
    assert Counter(reason for reason, _ in cascade.values()) == {
        None: 23, "language_prefilter": 35, "language": 2, "record_warcinfo": 1}
    assert all(cascade[url][0] is None for url, reason in full.items() if reason is None)
    assert all(value.split(":")[0] != "en" and float(value.split(":")[1]) >= 0.9
               for reason, value in cascade.values() if reason == "language_prefilter")


def test_prefilter_is_off_without_a_keep_list_and_with_resiliparse(warc):
    for settings in ({}, {"keep_languages": ["en"], "extractor": "resiliparse"}):
        assert not any(row["reject_reason"] == "language_prefilter" for row in rows(warc, **settings))
