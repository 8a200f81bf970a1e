"""Decoding HTML bytes to text: HTTP header, then in-document declaration, then detection.

Order (after a byte-order mark, which always wins): the charset of the HTTP header, the
`<meta charset>` / `<meta http-equiv>` / `<?xml encoding?>` declaration in the first 4 KB,
strict UTF-8, then statistical detection (charset-normalizer). A declared charset is used only
if the bytes decode under it without error. Two corrections to plain precedence, both common
on real crawls: a header that names a Western single-byte charset (ISO-8859-1, the HTTP
default many servers send blindly) over bytes that are valid non-ASCII UTF-8 yields UTF-8;
and when header and document disagree, detection chooses between the two declared charsets.
Labels map to the codec browsers use for them (WHATWG Encoding Standard: `gb2312` is decoded
as GB18030, `shift_jis` as windows-31j, `iso-8859-1` as windows-1252), which are supersets.
"""

from __future__ import annotations

import codecs
import re

#: WHATWG label -> superset codec that browsers actually use.
_WHATWG_CODECS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030",
    "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932", "windows-31j": "cp932",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "iso-8859-9": "cp1254", "tis-620": "cp874", "iso-8859-11": "cp874",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "big5": "big5hkscs", "x-mac-cyrillic": "mac_cyrillic",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}
_NOT_PAGE_CODECS = frozenset({"undefined", "punycode", "idna", "unicode-escape", "raw-unicode-escape", "utf-7"})
_WESTERN_SINGLE_BYTE = frozenset({"cp1252", "latin_1", "ascii", "iso8859_15"})
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_DECLARATION = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_DETECTION_SAMPLE_BYTES = 64 * 1024


def normalize_label(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when the label is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG_CODECS.get(label, label)
    try:
        codec = codecs.lookup(label)
    except LookupError:
        return None
    # Python codecs no page is written in (`undefined` raises on any input, `punycode` and `idna`
    # encode host names): treated as unknown labels, as browsers do (WHATWG Encoding Standard).
    if not codec._is_text_encoding or codec.name in _NOT_PAGE_CODECS:
        return None
    return codec.name


def declared_charset(html: bytes) -> str | None:
    """The charset declared inside the document's first 4 KB, as a codec name."""
    match = _DECLARATION.search(html[:4096])
    if not match:
        return None
    return normalize_label((match.group(1) or match.group(2)).decode("ascii", "ignore"))


def decode_html(html: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Decode `html`; return the text and the codec used (`<codec>/replace` when lossy)."""
    for bom, codec in _BOMS:
        if html.startswith(bom):
            return html.decode(codec, errors="replace"), codec
    header = normalize_label(header_charset)
    document = declared_charset(html)
    if not header and not document:
        sniffed = _sniff_wide_or_escaped(html)
        if sniffed:
            return html.decode(sniffed, errors="replace"), sniffed
    if header == "utf-8" or (header in _WESTERN_SINGLE_BYTE and not html.isascii()):
        if _decodes(html, "utf-8"):
            return html.decode("utf-8"), "utf-8"
    if header and document and header != document:
        candidates = [codec for codec in (header, document) if _decodes(html, codec)]
        if len(candidates) == 2:
            chosen = _detect(html, candidates) or header
            return html.decode(chosen), chosen
    for codec in (header, document, "utf-8"):
        if codec and _decodes(html, codec):
            return html.decode(codec), codec
    detected = _detect(html)
    if detected and _decodes(html, detected):
        return html.decode(detected), detected
    fallback = detected or document or header or "utf-8"
    return html.decode(fallback, errors="replace"), f"{fallback}/replace"


def _sniff_wide_or_escaped(html: bytes) -> str | None:
    """UTF-16/32 without a BOM and ISO-2022 are valid UTF-8 byte-wise: recognise them first.

    ASCII text in UTF-16 has a NUL in every other byte (every 4th... in UTF-32); ISO-2022-JP/KR
    switch character sets with escape sequences (ESC $ B, ESC $ ) C).
    """
    head = html[:4096]
    if b"\x1b$" in head:
        for codec in ("iso2022_jp", "iso2022_kr"):
            if _decodes(html, codec):
                return codec
    if head.count(0) < len(head) // 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if head[0::4].count(0) + head[1::4].count(0) + head[2::4].count(0) > len(head) // 2:
        return "utf-32-be"
    if head[1::4].count(0) + head[2::4].count(0) + head[3::4].count(0) > len(head) // 2:
        return "utf-32-le"
    return "utf-16-be" if even > odd else "utf-16-le"


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except (UnicodeError, LookupError):  # UnicodeError: some codecs raise its base class, not UnicodeDecodeError
        return False
    return True


def _detect(data: bytes, candidates: list[str] | None = None) -> str | None:
    from charset_normalizer import from_bytes  # ~50 ms import; only pages without a usable declaration pay it

    best = from_bytes(data[:_DETECTION_SAMPLE_BYTES], cp_isolation=candidates).best()
    return normalize_label(best.encoding) if best else None
