"""Repair of non-standard text after extraction: mojibake, leftover HTML entities, control characters, NFC.

Pages decoded with the wrong charset upstream (a CMS that stored UTF-8 bytes as cp1252, a feed
re-encoded twice) reach us as "CafÃ©" or "â€œquotesâ€\x9d"; our own decoding cannot undo what
was already in the bytes. `ftfy` (Speer 2019, https://ftfy.readthedocs.io) detects and reverses
those chains for UTF-8 read as cp1252, latin-1, MacRoman and the like, unescapes entities
trafilatura left (`&amp;` in plain text), and removes control characters; the text is then put
in Unicode NFC, the form the rest of the pipeline compares.

ftfy only restores UTF-8. Legacy East Asian pages read as cp1252 ("“Œ‹žƒ^ƒ" for 東京タワ) are
restored by `restore_legacy_cjk`: when a text is entirely cp1252-encodable and dense in bytes
above 0x7F, charset-normalizer (the detector the extract stage uses) picks among Shift_JIS,
EUC-JP, GB18030, Big5 and EUC-KR for its cp1252 bytes, and the result is kept when over 90% of
its non-ASCII characters are CJK. Western text
never gets there: its accented letters are a few percent of the characters, and a strict
multi-byte decode of them fails.

ftfy's stylistic changes (curly to straight quotes, full-width to half-width, ligatures, line
breaks) are off by default: they change clean text, which a repair step must not do (full-width
forms are ordinary Japanese). `bench/text_repair.py` measures both sides.
"""

from __future__ import annotations

import re
import unicodedata

import charset_normalizer
import ftfy
import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252", the WHATWG cp1252 browsers use
from pydantic import Field

from dataflow.config import StrictModel

#: Kinds of fix counted per document (`text_fixes` column) and per kind in stats.json.
MOJIBAKE, LEGACY_CJK, HTML_ENTITIES, CONTROL_CHARS, NFC = ("mojibake", "legacy_cjk", "html_entities", "control_chars",
                                                          "nfc")
TEXT_FIX_KINDS = (MOJIBAKE, LEGACY_CJK, HTML_ENTITIES, CONTROL_CHARS, NFC)
#: ftfy explanation steps -> our kinds; ftfy's other steps are the stylistic ones, off by default.
_FTFY_KINDS = {"encode": MOJIBAKE, "decode": MOJIBAKE, "transcode": MOJIBAKE, "unescape_html": HTML_ENTITIES,
               "remove_control_chars": CONTROL_CHARS, "remove_terminal_escapes": CONTROL_CHARS,
               "fix_surrogates": MOJIBAKE, "decode_inconsistent_utf8": MOJIBAKE, "replace_lossy_sequences": MOJIBAKE,
               "restore_byte_a0": MOJIBAKE, "fix_c1_controls": MOJIBAKE, "normalize": NFC}
#: The encodings browsers use for these labels (WHATWG): Shift_JIS is read as cp932, EUC-KR as cp949.
_LEGACY_CJK_CODECS = ("cp932", "euc_jp", "gb18030", "big5", "cp949")
#: Kana, CJK ideographs, Hangul, CJK punctuation and full-width forms; not half-width katakana, which
#: is what Chinese bytes read as Shift_JIS mostly turn into.
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff01-\uff5e]")
_HIGH = re.compile(r"[^\x00-\x7f]")


class TextRepairConfig(StrictModel):
    """Settings of text repair in the extract stage (ftfy, then Unicode NFC)."""

    enabled: bool = True
    """Repair extracted text; off keeps trafilatura's output as it is."""
    legacy_cjk: bool = True
    """Restore Shift_JIS, EUC-JP, GB18030, Big5 and EUC-KR text that was read as cp1252."""
    min_legacy_high_frac: float = Field(0.3, ge=0, le=1)
    """Share of non-space characters above U+007F a cp1252-only text needs before a legacy CJK decode is tried."""
    uncurl_quotes: bool = False
    """ftfy's curly-to-straight quotes (off: it changes clean text)."""
    fix_character_width: bool = False
    """ftfy's full-width to half-width letters (off: full-width forms are ordinary Japanese)."""
    fix_latin_ligatures: bool = False
    """ftfy's ligature expansion ("ﬁ" -> "fi")."""


def repair_text(text: str, config: TextRepairConfig) -> tuple[str, list[str]]:
    """The repaired text and the kinds of fix applied, in order, each once.

    >>> repair_text("CafÃ© &amp; bar", TextRepairConfig())
    ('Café & bar', ['html_entities', 'mojibake'])
    """
    if not config.enabled or not text:
        return text, []
    kinds: list[str] = []
    if config.legacy_cjk:
        restored = restore_legacy_cjk(text, config.min_legacy_high_frac)
        if restored is not None:
            text = restored
            kinds.append(LEGACY_CJK)
    if text.isascii() and "&" not in text and text.isprintable():  # nothing ftfy would change: skip its passes
        return text, kinds
    # The whole document in one call: ftfy's `fix_text` would judge line by line, and a line of
    # mojibake has less evidence than a page of it (bench/text_repair.py: 99.7% restored against
    # 98.0% for UTF-8 read as cp1252, at about twice the CPU time).
    fixed, steps = ftfy.fix_and_explain(text, _ftfy_config(config))
    for action, parameter in steps or ():
        kind = _FTFY_KINDS.get(parameter) or _FTFY_KINDS.get(action)
        if kind and kind not in kinds:
            kinds.append(kind)
    return fixed, kinds


def restore_legacy_cjk(text: str, min_high_frac: float) -> str | None:
    """`text` decoded from its cp1252 bytes as a legacy CJK encoding, or None when it is not that mojibake.

    >>> restore_legacy_cjk("東京タワーです。".encode("shift_jis").decode("sloppy-windows-1252"), 0.3)
    '東京タワーです。'
    """
    letters = len(text) - text.count(" ") - text.count("\n")
    if letters <= 0 or len(_HIGH.findall(text)) < min_high_frac * letters or _CJK.search(text):
        return None
    try:
        raw = text.encode("sloppy-windows-1252")
        raw.decode("utf-8")
        return None  # UTF-8 read as cp1252 (Cyrillic, Greek, ... mojibake): ftfy's case, not this one
    except UnicodeEncodeError:  # characters outside cp1252: not this kind of mojibake
        return None
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(raw, cp_isolation=list(_LEGACY_CJK_CODECS)).best()
    decoded = str(best) if best is not None else ""
    if len(_CJK.findall(decoded)) < 0.9 * len(_HIGH.findall(decoded)) or not decoded:  # mostly CJK, or not this
        return None
    return unicodedata.normalize("NFC", decoded)


def _ftfy_config(config: TextRepairConfig) -> ftfy.TextFixerConfig:
    return ftfy.TextFixerConfig(uncurl_quotes=config.uncurl_quotes, fix_character_width=config.fix_character_width,
                                fix_latin_ligatures=config.fix_latin_ligatures, fix_line_breaks=False,
                                normalization="NFC", explain=True)
