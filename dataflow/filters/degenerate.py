"""Degenerate-text guard: pages that are not text at all, rejected by name before anything else.

One page of ten thousand slashes was enough to wreck a large run: word-based rules have no
words to measure on it, it blows up tokenizer merges and n-gram counts, and the model learns
to emit slashes. These rules catch
that page and its cousins cheaply, each by its own name, and run first in the default rule
order so the heavier statistics are never computed on them:

- a long run of one character ("//////", "======", "!!!!!!"),
- a very long "word" (base64 images, minified code, URL soup without spaces),
- many non-printable or replacement characters (binary read as text, mis-decoded pages),
- one symbol dominating the non-space characters ("/ / / / /", "| | |", emoji floods).

No paper sets these thresholds. They are set well above everything measured on the 1,695
real pages of ../shared/data/html (longest single-character run: 81, a Chinese worksheet's
fill-in blanks, then 55 for "=" rules; longest token: 480, a URL; non-printable share: 0 except
ten mis-decoded pages at 0.009-0.78; top symbol share: at most 0.19, pipe-separated tables), so
only machine output and broken decoding trip them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import ClassVar

import numpy as np
from pydantic import Field

from dataflow.filters.rule import MaxValue, Share
from dataflow.filters.stats import TextStats
from dataflow.text import longest_token

#: C0/C1 controls other than tab/newline/carriage return, private use, unpaired surrogates,
#: and U+FFFD, the replacement character a failed decode leaves behind.
_NON_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufffd]")
#: Code points classified by table lookup: the BMP and the plane of emoji (1).
_TABLE_SIZE = 0x20000


class DegenerateCharRun(MaxValue):
    """The longest run of one repeated non-space character is too long ("/" x 10,000)."""

    name: ClassVar[str] = "degenerate_char_run"
    threshold: ClassVar[str] = "max_run_chars"

    max_run_chars: int = Field(200, gt=0)
    """Reject documents with a longer run of one character (80-column separator lines are fine)."""

    def measure(self, doc: TextStats) -> float:
        codes = doc.codes
        if not len(codes):
            return 0
        starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
        lengths = np.diff(np.append(starts, len(codes)))
        lengths[_char_class(codes[starts]) == _SPACE] = 0
        return int(lengths.max())


class DegenerateLongWord(MaxValue):
    """The longest "word" is too long: base64, minified code, text without spaces.

    A word here is a run of non-space characters with CJK/Thai characters counting as breaks,
    so unspaced prose is not one long word.
    """

    name: ClassVar[str] = "degenerate_long_word"
    threshold: ClassVar[str] = "max_word_chars"

    max_word_chars: int = Field(1000, gt=0)
    """Reject documents with a longer run of non-space characters."""

    def measure(self, doc: TextStats) -> float:
        return longest_token(doc.text)


class DegenerateNonPrintable(MaxValue):
    """Too many control, private-use or replacement (U+FFFD) characters: binary or mis-decoded text."""

    name: ClassVar[str] = "degenerate_non_printable"

    max_frac: Share = 0.005
    """Reject documents where a larger share of characters is non-printable."""

    def measure(self, doc: TextStats) -> float | None:
        return len(_NON_PRINTABLE.findall(doc.text)) / len(doc.text) if doc.text else None


class DegenerateSymbolShare(MaxValue):
    """One symbol (not a letter, digit or space) makes up too much of the text ("/ / / /", "|||")."""

    name: ClassVar[str] = "degenerate_symbol_share"

    max_frac: Share = 0.3
    """Reject documents where the most frequent symbol is a larger share of the non-space characters."""

    def measure(self, doc: TextStats) -> float | None:
        classes = _char_class(doc.codes)
        non_space = int((classes != _SPACE).sum())
        if not non_space:
            return None
        symbols = doc.codes[classes == _SYMBOL]
        return np.unique(symbols, return_counts=True)[1].max() / non_space if len(symbols) else 0.0


_OTHER, _SPACE, _SYMBOL = 0, 1, 2


def _char_class(codes: np.ndarray) -> np.ndarray:
    """_SPACE, _SYMBOL (Unicode punctuation or symbol) or _OTHER per code point."""
    table = _class_table()
    return np.where(codes < _TABLE_SIZE, table[np.minimum(codes, _TABLE_SIZE - 1)], _OTHER)


@lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    """Class of every code point below _TABLE_SIZE (built once per process, ~50 ms)."""
    def classify(char: str) -> int:
        if char.isspace():
            return _SPACE
        return _SYMBOL if unicodedata.category(char)[0] in "PS" else _OTHER

    return np.fromiter((classify(chr(code)) for code in range(_TABLE_SIZE)), dtype=np.uint8, count=_TABLE_SIZE)


RULES = (DegenerateCharRun, DegenerateLongWord, DegenerateNonPrintable, DegenerateSymbolShare)
