"""Hostile WARC input through the real extract job: no record fails the task, every record is
accounted for in stats.json, and the good pages between the bad ones keep their text.

The WARCs are written here, records by hand where warcio refuses to write them (a cut HTTP
header block) and bytes cut where a file must be broken (a truncated last gzip member).
"""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from importlib import resources

import brotli
import pyarrow.parquet as pq
import pytest

from jobs import extract as extract_job

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

#: Bigger than the 10 MB one-line page, smaller than the 50 MB page and the decompression bombs.
MAX_HTML_BYTES = 12 * 1024 * 1024


def sentences(topic: int, language: str = "en") -> list[str]:
    """The sentences of one topic of the project's own prose (dataflow/samples/text/)."""
    text = resources.files("dataflow.samples").joinpath(f"text/{language}.txt").read_text(encoding="utf-8")
    return text.split("\n## ")[1:][topic].splitlines()[1:]


def article(title: str, topic: int, language: str = "en") -> str:
    """A page trafilatura keeps: a heading and three paragraphs."""
    lines = sentences(topic, language)
    paragraphs = "".join(f"<p>{' '.join(lines[i:i + 4])}</p>\n" for i in range(0, 12, 4))
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>\n"
            f"{paragraphs}</article></body></html>")


def first_sentence(topic: int, language: str = "en") -> str:
    return sentences(topic, language)[0]


def warc_record(url: str, http_block: bytes) -> bytes:
    """One response record as its own gzip member, the HTTP block written as given."""
    header = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\n"
              f"WARC-Date: 2024-05-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>\r\n"
              f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http_block)}\r\n\r\n")
    return gzip.compress(header.encode() + http_block + b"\r\n\r\n", compresslevel=1)


def response(url: str, body: bytes, *headers: str) -> bytes:
    head = "".join(f"{header}\r\n" for header in headers)
    return warc_record(url, f"HTTP/1.1 200 OK\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)


def bad(name: str, body: bytes, *headers: str) -> bytes:
    return response(f"https://bad.example/{name}", body, *headers)


GOOD = {f"https://good.example/{n}": n for n in range(4)}  # url -> prose topic
HTML = "Content-Type: text/html"
GZIP, BROTLI, DEFLATE = "Content-Encoding: gzip", "Content-Encoding: br", "Content-Encoding: deflate"


@pytest.fixture(scope="module")
def hostile(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    bomb = b"<html><body><p>" + b"a" * (30 * 1024 * 1024)
    good = [response(url, article(f"Good page {n}", n).encode(), HTML) for url, n in GOOD.items()]
    utf16 = "\ufeff".encode("utf-16-le") + article("UTF-16", 9).encode("utf-16-le")
    records = [
        good[0],
        bad("charset-undefined", article("Undefined", 4).encode(), f"{HTML}; charset=undefined"),
        bad("charset-punycode", article("Punycode", 5).encode(), f"{HTML}; charset=punycode"),
        bad("meta-undefined", b'<meta charset="undefined">' + article("Meta", 6).encode(), HTML),
        bad("gzip-bomb", gzip.compress(bomb, 1), HTML, GZIP),
        good[1],
        bad("brotli-bomb", brotli.compress(bomb, quality=1), HTML, BROTLI),
        bad("bad-gzip", b"\x1f\x8b\x08\x00 not gzip at all " * 40, HTML, GZIP),
        bad("deflate", zlib.compress(article("Deflated", 7).encode()), HTML, DEFLATE),
        warc_record("https://bad.example/cut-header", b"HTTP/1.1 200 OK\r\nContent-Type: text/ht"),
        bad("no-content-type", article("No type", 8).encode()),
        good[2],
        bad("fifty-mb", b"<html><body>" + b"<p>word</p>" * (50 * 1024 * 1024 // 11), HTML),
        bad("one-line", b"<html><body><p>" + b"word " * (2 * 1024 * 1024) + b"</p></body></html>", HTML),
        bad("utf16-bom", utf16, HTML),
        bad("declared-utf8-is-cp1252", article("Marché", 0, "fr").encode("cp1252"), f"{HTML}; charset=utf-8"),
        bad("title-regex", b"<title" * 20_000 + article("Titles", 10).encode(), HTML),
        good[3],
    ]
    (folder / "hostile.warc.gz").write_bytes(b"".join(records))
    (folder / "empty.warc.gz").write_bytes(b"")
    whole = [response(f"https://cut.example/{n}", article(f"Cut {n}", n).encode(), HTML) for n in range(3)]
    (folder / "truncated.warc.gz").write_bytes(b"".join(whole)[:-len(whole[2]) // 2])
    out = folder / "docs"
    assert extract_job.main(["--input", str(folder), "--output", str(out),
                             "--max-html-bytes", str(MAX_HTML_BYTES)]) == 0
    kept = {row["url"]: row for row in pq.read_table(out / "data").to_pylist()}
    rejected = {row["url"] or row["warc_path"].rsplit("/", 1)[1]: row
                for row in pq.read_table(out / "rejected").to_pylist()}
    return json.loads((out / "stats.json").read_text()), kept, rejected


def test_every_record_is_accounted_for(hostile):
    stats, kept, rejected = hostile
    assert stats["rows_in"] == stats["rows_out"] + sum(stats["rejected_by_reason"].values())
    # hostile.warc.gz: 18 responses; truncated.warc.gz: 2 whole and a cut one; empty.warc.gz: one row.
    assert stats["rows_in"] == 18 + 3 + 1
    assert stats["rejected_by_reason"] == {
        "bad_content_encoding": 1, "no_text": 1, "non_html": 1, "too_large": 3, "truncated_record": 1,
        "unreadable_file": 1}
    assert len(kept) == stats["rows_out"] and len(rejected) == stats["rows_rejected"]


def test_decompression_stops_at_the_size_cap(hostile):
    _, _, rejected = hostile
    assert rejected["https://bad.example/gzip-bomb"]["reject_reason"] == "too_large"
    assert rejected["https://bad.example/brotli-bomb"]["reject_reason"] == "too_large"
    assert rejected["https://bad.example/fifty-mb"]["reject_reason"] == "too_large"
    assert rejected["https://bad.example/bad-gzip"]["reject_reason"] == "bad_content_encoding"


def test_unusable_charset_labels_fall_back_and_the_page_is_kept(hostile):
    _, kept, _ = hostile
    for url, topic in [("charset-undefined", 4), ("charset-punycode", 5), ("meta-undefined", 6)]:
        row = kept[f"https://bad.example/{url}"]
        assert row["charset"] == "utf-8" and first_sentence(topic) in row["text"]


def test_good_pages_around_bad_ones_keep_their_text(hostile):
    _, kept, _ = hostile
    for url, topic in GOOD.items():
        assert first_sentence(topic) in kept[url]["text"]
        assert kept[url]["title"] == f"Good page {topic}"
    assert first_sentence(7) in kept["https://bad.example/deflate"]["text"]
    assert first_sentence(8) in kept["https://bad.example/no-content-type"]["text"]
    assert first_sentence(9) in kept["https://bad.example/utf16-bom"]["text"]
    assert first_sentence(0, "fr") in kept["https://bad.example/declared-utf8-is-cp1252"]["text"]


def test_broken_files_are_counted_with_their_cause(hostile):
    stats, kept, rejected = hostile
    assert rejected["empty.warc.gz"]["reject_reason"] == "unreadable_file"
    assert {path.rsplit("/", 1)[1]: why for path, why in stats["extra"]["unreadable_files"].items()} == {
        "empty.warc.gz": "empty file"}
    cut_header = rejected["https://bad.example/cut-header"]
    assert (cut_header["reject_reason"], cut_header["reject_value"]) == ("non_html", "text/ht")
    assert rejected["https://cut.example/2"]["reject_reason"] == "truncated_record"
    assert {"https://cut.example/0", "https://cut.example/1"} <= set(kept)


def test_pathological_pages_end_as_a_row(hostile):
    _, kept, rejected = hostile
    assert rejected["https://bad.example/one-line"]["reject_reason"] == "no_text"
    assert first_sentence(10) in kept["https://bad.example/title-regex"]["text"]
