"""Decoding real documents in 38 legacy encodings (../shared/data/encodings, labelled)."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest

from dataflow.extract.charset import declared_charset, decode_html, normalize_label

ISSUE_ENCODINGS = {"GB2312", "SHIFT_JIS", "CP932", "EUC-JP", "KOI8-R", "windows-1251"}


@pytest.fixture(scope="module")
def labelled(shared_data):
    folder = shared_data / "encodings" / "chardet"
    items = json.loads((folder / "manifest.json").read_text())
    return [(item, gzip.open(folder / item["file"]).read()) for item in items if normalize_label(item["encoding"])]


def browser_decoding(data: bytes, label: str) -> str:
    """What a browser shows for bytes in the labelled encoding (WHATWG codec, BOM dropped)."""
    return data.decode(normalize_label(label), errors="replace").removeprefix("\ufeff")


def test_labelled_documents_decode_correctly_without_headers(labelled):
    right, total = Counter(), Counter()
    for item, data in labelled:
        text, _ = decode_html(data)
        total[item["encoding"]] += 1
        right[item["encoding"]] += text == browser_decoding(data, item["encoding"])
    share = sum(right.values()) / sum(total.values())
    print(f"decoded correctly: {sum(right.values())}/{sum(total.values())} = {share:.1%}")
    assert share >= 0.95
    for encoding in ISSUE_ENCODINGS:
        assert right[encoding] == total[encoding], f"{encoding}: {right[encoding]}/{total[encoding]}"


def test_header_charset_wins_when_it_decodes():
    body = "<html><body>Привет</body></html>".encode("koi8_r")
    assert decode_html(body, "koi8-r") == ("<html><body>Привет</body></html>", "koi8-r")


def test_meta_corrects_a_wrong_western_header():
    body = ('<html><head><meta charset="windows-1251"></head><body>'
            + "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 5 + "</body></html>").encode("cp1251")
    text, codec = decode_html(body, "iso-8859-1")
    assert codec == "cp1251" and "французских" in text


def test_latin1_header_over_utf8_bytes_gives_utf8():
    body = "<p>Grüße aus Köln</p>".encode()
    assert decode_html(body, "ISO-8859-1") == ("<p>Grüße aus Köln</p>", "utf-8")


def test_gb2312_label_decodes_gbk_characters():
    body = '<meta charset="gb2312"><p>镕基</p>'.encode("gbk")  # 镕 is GBK, not GB2312
    text, codec = decode_html(body)
    assert codec == "gb18030" and "镕基" in text


def test_undecodable_bytes_are_replaced_not_raised():
    text, codec = decode_html(b"<p>\xff\xfe\xfa broken \x81</p>", "utf-8")
    assert "broken" in text


def test_xml_declaration_counts_as_declared():
    assert declared_charset(b'<?xml version="1.0" encoding="EUC-JP"?><rss>') == "euc_jp"
