"""Reading every real WARC/ARC file in ../shared/data/warc: records or counted failures, never a crash."""

from __future__ import annotations

from collections import Counter

import pytest

from dataflow.extract.warc import ReadFailure, decode_http_body, looks_like_html, read_archive
from bench.common.warc_builder import Page, write_warc

MAX = 2 * 1024 * 1024


def summarise(path) -> Counter:
    counts = Counter()
    for item in read_archive(str(path), max_payload_bytes=MAX):
        if isinstance(item, ReadFailure):
            counts[item.cause] += 1
        else:
            counts[item.record_type] += 1
            counts["truncated"] += item.truncated
            counts["html"] += item.record_type == "response" and item.is_html()
    return +counts


# Exact record counts per file (the shared data README's table, read with FastWARC/warcio).
EXPECTED = {
    "warcio/example.warc.gz": {"warcinfo": 2, "response": 1, "request": 2, "revisit": 1, "html": 1},
    "warcio/example.arc": {"warcinfo": 1, "response": 1, "html": 1},
    "warcio/example.arc.gz": {"warcinfo": 1, "response": 1, "html": 1},
    "warcio/bad.arc": {"warcinfo": 1, "response": 3},
    "warcio/example-bad-non-chunked.warc.gz": {"warcinfo": 2, "response": 1, "request": 2, "revisit": 1, "html": 1},
    "warcio/example-bad.warc.gz.bad": {"warcinfo": 1, "response": 2, "request": 2, "revisit": 1, "html": 2},
    "warcio/example-wrong-chunks.warc.gz": {"response": 1, "request": 1, "html": 1},
    "warcio/example-trunc.warc": {"warcinfo": 2, "response": 1, "html": 1, "unreadable_record": 1},
    "warcio/example-iana.org-chunked.warc": {"warcinfo": 1, "response": 1, "request": 1, "html": 1},
    "chatnoir-resiliparse/clipped.warc.gz": {"response": 1, "html": 1, "truncated": 1},
    "chatnoir-resiliparse/warcfile.warc.gz": {"warcinfo": 1, "request": 17, "response": 16, "metadata": 16, "html": 16},
    "chatnoir-resiliparse/warcfile.warc.lz4": {"warcinfo": 1, "request": 17, "response": 16, "metadata": 16,
                                               "html": 16},
    "chatnoir-resiliparse/clueweb-quirk.warc.gz": {"warcinfo": 1, "response": 29, "html": 29},
    "ia-web-commons/IAH-20080430204825-00000-blackbook-truncated.arc": {"warcinfo": 1, "unreadable_record": 1},
    "pywb/iana.warc.gz": {"warcinfo": 1, "response": 48, "request": 171, "revisit": 123, "html": 20},
    "whirlwind-python/whirlwind.warc.wet.gz": {"warcinfo": 1, "conversion": 1},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_file_gives_exact_records_and_failures(shared_data, name):
    assert summarise(shared_data / "warc" / name) == Counter(EXPECTED[name])


def test_every_shared_archive_reads_without_raising(shared_data):
    files = [p for p in (shared_data / "warc").rglob("*") if p.is_file() and not p.name.endswith((".json",
                                                                                                  ".paths.gz"))]
    assert len(files) >= 35
    for path in files:
        assert summarise(path), f"{path} gave nothing at all"


def test_whole_file_gzip_yields_every_record(shared_data):
    counts = summarise(shared_data / "warc/warcio/example-bad-non-chunked.warc.gz")
    assert sum(counts[t] for t in ("warcinfo", "response", "request", "revisit")) == 6


def test_empty_file_is_one_unreadable_file(tmp_path):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    assert summarise(empty) == Counter({"unreadable_file": 1})


def test_binary_garbage_is_one_unreadable_file(tmp_path):
    garbage = tmp_path / "garbage.warc"
    garbage.write_bytes(bytes(range(256)) * 40)
    assert summarise(garbage) == Counter({"unreadable_file": 1})


def test_missing_file_is_one_unreadable_file(tmp_path):
    failures = list(read_archive(str(tmp_path / "absent.warc.gz"), max_payload_bytes=MAX))
    assert [f.cause for f in failures] == ["unreadable_file"]
    assert "cannot open" in failures[0].message


def test_payload_over_cap_is_not_read(tmp_path):
    path = write_warc(tmp_path / "big.warc.gz", [Page("http://a.example/", b"<html>" + b"x" * 5000)])
    response = [r for r in read_archive(str(path), max_payload_bytes=1000) if r.record_type == "response"][0]
    assert response.payload is None and response.content_length > 1000


def test_missing_content_type_is_sniffed(tmp_path):
    pages = [Page("http://a.example/", b"\n  <!DOCTYPE html><html><body>hi</body></html>", content_type=None),
             Page("http://b.example/", b"\x89PNG\r\n\x1a\n\x00\x00", content_type=None)]
    path = write_warc(tmp_path / "sniff.warc.gz", pages)
    responses = [r for r in read_archive(str(path), max_payload_bytes=MAX) if r.record_type == "response"]
    assert [r.is_html() for r in responses] == [True, False]


def test_chunked_body_is_dechunked_and_plain_body_kept():
    assert decode_http_body(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "chunked", None, MAX) == b"hello world"
    assert decode_http_body(b"<!doctype html>", "chunked", None, MAX) == b"<!doctype html>"


def test_gzip_header_over_decoded_body_keeps_body():
    assert decode_http_body(b"<html></html>", None, "gzip", MAX) == b"<html></html>"


def test_html_sniffing_follows_whatwg_patterns():
    assert looks_like_html(b"  <div class=x>")
    assert looks_like_html(b"<!-- c --><p>")
    assert not looks_like_html(b"{\"json\": true}")
    assert not looks_like_html(b"<divination>")
