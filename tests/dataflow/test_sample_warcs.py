"""The sample crawl: reproducible bytes, CC-shaped records, and a manifest that tells the truth.

One 200-page sample is written per module and read back with FastWARC, the reader the
pipeline uses, so every check is against real WARC bytes rather than generator internals.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator

from dataflow.errors import ConfigError, InputError
from dataflow.samples import MANIFEST_NAME, benchmark_path, write_sample_warcs
from dataflow.samples import benchmark, prose
from dataflow.samples.pages import OVERSIZE_HTML_BYTES
from dataflow.samples.plan import KIND_SHARES, MIN_PAGES
from dataflow.samples.sites import SITES

NUM_PAGES = 200
LEGACY_ENCODINGS = {"GB2312", "GBK", "GB18030", "Shift_JIS", "EUC-JP", "KOI8-R", "windows-1251"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample_warcs(tmp_path_factory.mktemp("sample"), num_pages=NUM_PAGES, num_files=2, seed=7)


@pytest.fixture(scope="module")
def manifest(sample) -> list[dict]:
    return [json.loads(line) for line in sample.manifest_path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def records(sample) -> list[dict]:
    """Every record of the sample as FastWARC reads it."""
    found = []
    for path in sample.warc_paths:
        with open(path, "rb") as stream:
            for rec in ArchiveIterator(stream, parse_http=True):
                http = {name.lower(): value for name, value in rec.http_headers.items()} if rec.is_http else {}
                found.append({"file": path.name, "type": str(rec.record_type), "id": rec.record_id,
                              "offset": rec.stream_pos, "headers": dict(rec.headers),
                              "status": rec.http_headers.status_code if rec.is_http else None,
                              "http": http, "payload": rec.reader.read()})
    return found


@pytest.fixture(scope="module")
def payloads(records) -> dict[str, bytes]:
    """Response payload by record id."""
    return {rec["id"]: rec["payload"] for rec in records if rec["type"] == "response"}


def rows_of(manifest: list[dict], kind: str) -> list[dict]:
    return [row for row in manifest if row["kind"] == kind]


def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path):
    first = write_sample_warcs(tmp_path / "a", num_pages=MIN_PAGES, num_files=2, seed=3)
    second = write_sample_warcs(tmp_path / "b", num_pages=MIN_PAGES, num_files=2, seed=3)
    other = write_sample_warcs(tmp_path / "c", num_pages=MIN_PAGES, num_files=2, seed=4)
    for a, b, c in zip(first.warc_paths + (first.manifest_path,), second.warc_paths + (second.manifest_path,),
                       other.warc_paths + (other.manifest_path,)):
        assert a.name == b.name == c.name
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() != c.read_bytes()


def test_files_are_named_like_common_crawl_and_open_with_warcinfo(sample, records):
    assert [path.name for path in sample.warc_paths] == ["CC-MAIN-SAMPLE-20240518-00000.warc.gz",
                                                         "CC-MAIN-SAMPLE-20240518-00001.warc.gz"]
    for path in sample.warc_paths:
        first = next(rec for rec in records if rec["file"] == path.name)
        assert first["type"] == "warcinfo" and first["offset"] == 0
        assert first["headers"]["WARC-Filename"] == path.name


def test_every_record_is_its_own_gzip_member(sample, records):
    for path in sample.warc_paths:
        data = path.read_bytes()
        offsets = [rec["offset"] for rec in records if rec["file"] == path.name]
        assert all(data[offset:offset + 2] == b"\x1f\x8b" for offset in offsets)
        assert data.count(b"\x1f\x8b\x08") >= len(offsets)


def test_record_counts_match_the_manifest(sample, manifest, records):
    types = Counter(rec["type"] for rec in records)
    revisits = len(rows_of(manifest, "revisit"))
    assert types == {"warcinfo": 2, "request": len(manifest), "response": len(manifest) - revisits,
                     "metadata": len(manifest) - revisits, "revisit": revisits}
    assert sample.counts == dict(sorted(Counter(row["kind"] for row in manifest).items()))


def test_each_manifest_row_points_at_its_response_record(manifest, records):
    by_id = {rec["id"]: rec for rec in records}
    for row in manifest:
        rec = by_id[row["record_id"]]
        assert (rec["file"], rec["offset"]) == (row["warc_file"], row["warc_offset"])
        assert rec["headers"]["WARC-Target-URI"] == row["url"]
        assert rec["status"] == row["status"]
        assert rec["type"] == ("revisit" if row["kind"] == "revisit" else "response")


def test_requests_responses_and_metadata_are_linked_as_in_common_crawl(records):
    requests = {rec["id"]: rec for rec in records if rec["type"] == "request"}
    responses = {rec["id"]: rec for rec in records if rec["type"] == "response"}
    for rec in responses.values():
        request = requests[rec["headers"]["WARC-Concurrent-To"]]
        assert request["headers"]["WARC-Target-URI"] == rec["headers"]["WARC-Target-URI"]
        assert request["headers"]["WARC-Date"] == rec["headers"]["WARC-Date"]
        declared = rec["http"].get("content-type")
        assert rec["headers"].get("WARC-Identified-Payload-Type") == (declared.split(";")[0] if declared else None)
    for rec in records:
        if rec["type"] == "metadata":
            assert rec["headers"]["WARC-Concurrent-To"] in responses
            assert rec["payload"].startswith(b"fetchTimeMs: ")


def test_block_and_payload_digests_verify(sample, records):
    for path in sample.warc_paths:
        with open(path, "rb") as stream:
            assert all(rec.verify_block_digest() for rec in ArchiveIterator(stream, parse_http=False))
    for rec in records:
        if rec["type"] == "response":
            sha1 = base64.b32encode(hashlib.sha1(rec["payload"]).digest()).decode()
            assert rec["headers"]["WARC-Payload-Digest"] == f"sha1:{sha1}"


def test_html_page_kinds_add_up_to_num_pages_in_roughly_crawl_like_shares(sample):
    html_kinds = {"article", "oversize", *KIND_SHARES}
    assert sum(count for kind, count in sample.counts.items() if kind in html_kinds) == NUM_PAGES
    assert 0.6 < sample.counts["article"] / NUM_PAGES < 0.75
    assert {"non_html", "redirect", "revisit"} <= sample.counts.keys()


def test_every_language_is_present_and_declared_in_html_lang(manifest, payloads):
    articles = rows_of(manifest, "article")
    assert {row["language"] for row in articles} == set(prose.LANGUAGES)
    for row in articles:
        html = payloads[row["record_id"]].decode(row["encoding"])
        if "<html lang=" in html:
            assert f'<html lang="{row["language"]}">' in html


def test_legacy_encoded_pages_decode_only_with_their_true_encoding(manifest, payloads):
    legacy = [row for row in manifest if row["encoding"] in LEGACY_ENCODINGS and row["kind"] == "article"]
    assert {row["encoding"] for row in legacy} == LEGACY_ENCODINGS
    for row in legacy:
        body = payloads[row["record_id"]]
        assert row["title"] in body.decode(row["encoding"])
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")


def test_charset_is_declared_in_header_meta_both_neither_or_wrongly(manifest, records):
    by_id = {rec["id"]: rec for rec in records}
    styles = {}
    for row in rows_of(manifest, "article"):
        header = by_id[row["record_id"]]["http"].get("content-type") or ""
        head = by_id[row["record_id"]]["payload"][:1024].decode("ascii", "replace")
        styles.setdefault(row["charset_declared"], []).append((row["encoding"], header, head))
    assert set(styles) == {"header", "meta", "http-equiv", "header+meta", "none", "wrong-header"}
    for encoding, header, head in styles["wrong-header"]:
        assert header == "text/html; charset=UTF-8"
        assert f"charset={encoding}" in head
    for encoding, header, head in styles["none"]:
        assert "charset" not in header and "charset" not in head


def test_some_html_is_served_without_content_type_and_must_be_sniffed(manifest, records):
    untyped = [row for row in manifest if row["kind"] == "article" and row["content_type"] is None]
    assert untyped
    by_id = {rec["id"]: rec for rec in records}
    for row in untyped:
        rec = by_id[row["record_id"]]
        assert "content-type" not in rec["http"]
        assert "WARC-Identified-Payload-Type" not in rec["headers"]
        assert rec["payload"].startswith(b"<!DOCTYPE html>")


def test_slash_page_and_the_other_degenerate_pages_are_present(manifest, payloads):
    pages = {row["variant"]: payloads[row["record_id"]].decode("utf-8") for row in rows_of(manifest, "degenerate")}
    assert set(pages) == {"slashes", "long_word", "lorem_ipsum", "replacement_chars", "one_symbol"}
    assert "/" * 10_000 in pages["slashes"] and "/" * 10_001 not in pages["slashes"]
    assert re.search(r"[a-z]{50000}", pages["long_word"])
    assert "Lorem ipsum" in pages["lorem_ipsum"]
    assert pages["replacement_chars"].count("\ufffd") > 1000


def test_benchmark_items_are_planted_with_surface_changes_and_unleaked_ones_never_appear(manifest, payloads):
    def words(text: str) -> str:
        return " ".join(re.findall(r"\w+", text.lower()))

    items = {item["id"]: item for item in benchmark.items()}
    pages = rows_of(manifest, "benchmark")
    planted = {item_id for row in pages for item_id in row["benchmark_items"]}
    assert planted <= set(benchmark.leaked_ids(7))
    for row in pages:
        text = words(payloads[row["record_id"]].decode(row["encoding"]))
        for item_id in row["benchmark_items"]:
            assert words(items[item_id]["question"]) in text
    never = [words(item["question"]) for item_id, item in items.items() if item_id not in benchmark.leaked_ids(7)]
    corpus = [words(body.decode("utf-8", "replace")) for body in payloads.values()]
    assert not any(question in text for question in never for text in corpus)


def test_sample_benchmark_has_thirty_items_in_gsm8k_and_trivia_form(sample):
    items = [json.loads(line) for line in sample.benchmark_path.read_text().splitlines()]
    assert sample.benchmark_path == benchmark_path() and len(items) == 30
    assert len({item["id"] for item in items}) == 30
    maths = [item for item in items if item["task"] == "word_problem"]
    assert len(maths) == 20 and all(re.search(r"\n#### \d+$", item["answer"]) for item in maths)


def copies_and_originals(manifest: list[dict], kind: str) -> list[tuple[dict, dict]]:
    """(copy, original) rows of a duplicate kind; fails when the kind is missing."""
    by_url = {row["url"]: row for row in manifest if row["kind"] != "revisit"}
    pairs = [(row, by_url[row["duplicate_of"]]) for row in rows_of(manifest, kind)]
    assert pairs
    return pairs


def test_exact_duplicates_repeat_the_original_bytes_under_another_url(manifest, payloads):
    for copy, original in copies_and_originals(manifest, "exact_duplicate"):
        assert copy["url"] != original["url"] and copy["family"] == original["family"]
        assert payloads[copy["record_id"]] == payloads[original["record_id"]]


def test_near_duplicates_name_their_original_and_their_edits(manifest, payloads):
    for copy, original in copies_and_originals(manifest, "near_duplicate"):
        assert original["kind"] == "article" and copy["family"] == original["family"]
        assert copy["edits"] and payloads[copy["record_id"]] != payloads[original["record_id"]]


def test_non_html_redirect_error_revisit_and_oversize_captures(manifest, payloads):
    types = {row["variant"]: row["content_type"] for row in rows_of(manifest, "non_html")}
    assert types == {"png": "image/png", "pdf": "application/pdf", "css": "text/css",
                     "javascript": "application/javascript", "json": "application/json"}
    png = next(row for row in rows_of(manifest, "non_html") if row["variant"] == "png")
    assert payloads[png["record_id"]].startswith(b"\x89PNG\r\n\x1a\n")
    assert all(payloads[row["record_id"]] == b"" and row["location"] for row in rows_of(manifest, "redirect"))
    assert {row["status"] for row in rows_of(manifest, "http_error")} == {404, 500}
    assert {row["revisit_profile"] for row in rows_of(manifest, "revisit")} == {
        "server-not-modified", "identical-payload-digest"}
    (oversize,) = rows_of(manifest, "oversize")
    assert len(payloads[oversize["record_id"]]) > OVERSIZE_HTML_BYTES


@pytest.mark.parametrize("lang", prose.LANGUAGES)
def test_prose_and_boilerplate_encode_in_every_charset_their_sites_use(lang):
    strings = prose.all_sentences(lang) + [topic.heading for topic in prose.topics(lang)]
    strings += json.dumps(prose.ui(lang), ensure_ascii=False).split('"')
    for encoding in {site.encoding for site in SITES if site.lang == lang}:
        for text in strings:
            text.encode(encoding)


def test_output_folder_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a folder")
    with pytest.raises(InputError, match="is a file"):
        write_sample_warcs(target, num_pages=MIN_PAGES)


def test_too_few_pages_is_refused_naming_the_minimum(tmp_path):
    with pytest.raises(ConfigError, match=f"at least {MIN_PAGES}"):
        write_sample_warcs(tmp_path, num_pages=MIN_PAGES - 1)


def test_foreign_warc_files_in_the_output_folder_are_refused(tmp_path):
    (tmp_path / "other.warc.gz").write_bytes(b"")
    with pytest.raises(InputError, match="other.warc.gz"):
        write_sample_warcs(tmp_path, num_pages=MIN_PAGES)
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_rerun_into_the_same_folder_replaces_the_sample(tmp_path):
    write_sample_warcs(tmp_path, num_pages=MIN_PAGES, num_files=1, seed=1)
    again = write_sample_warcs(tmp_path, num_pages=MIN_PAGES, num_files=1, seed=2)
    assert sorted(path.name for path in Path(tmp_path).iterdir()) == sorted(
        [again.warc_paths[0].name, MANIFEST_NAME])
