"""Text normalisation and word segmentation, shared by filters, dedup and decontamination.

One definition of "a word" and of "the same text" for the whole pipeline:

- `word_units(text)`: words for spaced scripts (runs of letters, digits, marks, as Unicode
  `\\w`), and one unit per character for scripts written without spaces (Han, Hiragana,
  Katakana, Thai, Lao, Khmer, Myanmar, Tibetan). Character units need no dictionary, are
  deterministic and fast, and give CJK text a meaningful n-gram structure for MinHash and
  decontamination (NeMo Curator shingles CJK by characters too; FineWeb-2 uses jieba words
  for Chinese). Word-count thresholds calibrated on spaced languages therefore need
  per-language overrides for these scripts (see the filter configs).
- `normalize(text)`: the form compared by dedup and decontamination: Unicode NFKC, case
  folded, digits folded to 0, punctuation and symbols dropped, whitespace collapsed, so
  "It's 42%!" and "its 17" differ only where the words differ.
"""

from __future__ import annotations

import re
import unicodedata

#: Scripts written without spaces between words (Unicode blocks).
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u0f00-\u0fff"  # Tibetan
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0002fa1f"  # CJK Extensions B-F
)
_WORD_UNITS = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")
_UNSPACED_CHAR = re.compile(rf"[{_UNSPACED}]")
_DIGITS = re.compile(r"\d")
_NOT_WORD = re.compile(r"[\W_]+")
#: Languages whose text is mostly in unspaced scripts (ISO 639-1 / lid.176 codes).
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue"})


def word_units(text: str) -> list[str]:
    """Words of spaced scripts and single characters of unspaced ones, in order.

    >>> word_units("Hello, world! 東京タワー is 333m")
    ['Hello', 'world', '東', '京', 'タ', 'ワ', 'ー', 'is', '333m']
    """
    return _WORD_UNITS.findall(text)


def normalize(text: str) -> str:
    """The comparison form of `text` used by dedup and decontamination.

    >>> normalize("It's 42%!\\n  Ｆｕｌｌ-width")
    'it s 00 full width'
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIGITS.sub("0", text)
    return " ".join(_NOT_WORD.sub(" ", text).split())


def normalized_units(text: str) -> list[str]:
    """`word_units` of the normalised text: the tokens that shingles and n-grams are built from."""
    return word_units(normalize(text))


def unspaced_share(text: str) -> float:
    """Share of non-space characters in unspaced scripts: ~1 for Chinese/Japanese prose."""
    letters = len(text) - text.count(" ") - text.count("\n")
    return len(_UNSPACED_CHAR.findall(text)) / letters if letters > 0 else 0.0
