"""Gopher repetition rules (Rae et al. 2021, appendix A.1.1 and table A1; reference code:
datatrove's `GopherRepetitionFilter`).

Table A1 thresholds: duplicate line and paragraph fractions 0.30, their character fractions
0.20; the most frequent 2-, 3- and 4-gram may cover at most 0.20, 0.18 and 0.16 of the
characters; duplicated 5- to 10-grams at most 0.15 down to 0.10. Character fractions divide
by the document's length in characters. N-gram statistics come from the shared `TextStats`
(hashed n-grams, one sort per n), which is what makes these rules cheap.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from dataflow.filters.rule import Rule
from dataflow.filters.stats import TextStats


def _cjk_n(n: int) -> dict[str, dict[str, int]]:
    """Chinese and Japanese words average 1.5-2 characters, and their units are characters: an
    n-word window is about 2n units. Without this, repeated names and set phrases ("新型コロナ",
    five characters) make clean articles fail the 5-gram rule."""
    return {"zh": {"n": 2 * n}, "ja": {"n": 2 * n}}


class _MaxFrac(Rule):
    """A fraction rejected above `max_frac` (subclasses define the default and what it measures)."""

    max_frac: float = Field(ge=0, le=1)
    """Reject documents measuring more than this."""

    def rejects(self, value: float) -> bool:
        return value > self.max_frac


class DupLineFrac(_MaxFrac):
    """Drop pages made of repeated lines: menus, tag clouds, "/////" pages; prose rarely repeats a line."""

    name: ClassVar[str] = "dup_line_frac"
    max_frac: float = Field(0.30, ge=0, le=1)
    """Reject when more than this share of non-empty lines are exact repeats of an earlier line."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.line_duplicates[0] / len(doc.lines) if doc.lines else None


class DupParagraphFrac(_MaxFrac):
    """Drop pages whose paragraphs (blank-line separated) repeat."""

    name: ClassVar[str] = "dup_para_frac"
    max_frac: float = Field(0.30, ge=0, le=1)
    """Reject when more than this share of paragraphs repeat an earlier paragraph."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.paragraph_duplicates[0] / len(doc.paragraphs) if doc.text.strip() else None


class DupLineCharFrac(_MaxFrac):
    """Drop pages where repeated lines hold much of the text."""

    name: ClassVar[str] = "dup_line_char_frac"
    max_frac: float = Field(0.20, ge=0, le=1)
    """Reject when repeated lines hold more than this share of the characters."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.line_duplicates[1] / len(doc.text) if doc.text else None


class DupParagraphCharFrac(_MaxFrac):
    """Drop pages where repeated paragraphs hold much of the text."""

    name: ClassVar[str] = "dup_para_char_frac"
    max_frac: float = Field(0.20, ge=0, le=1)
    """Reject when repeated paragraphs hold more than this share of the characters."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.paragraph_duplicates[1] / len(doc.text) if doc.text else None


class _TopNGramCharFrac(_MaxFrac):
    """The most frequent word n-gram covers too much of the text ("click here click here ...")."""

    n: int = Field(gt=0)
    """N-gram length in word units (doubled for Chinese/Japanese, whose units are characters)."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.top_ngram_chars(self.n) / len(doc.text) if doc.text else None


class Top2GramCharFrac(_TopNGramCharFrac):
    __doc__ = _TopNGramCharFrac.__doc__
    name: ClassVar[str] = "top_2gram_char_frac"
    language_defaults: ClassVar = _cjk_n(2)
    n: int = Field(2, gt=0)
    max_frac: float = Field(0.20, ge=0, le=1)
    """Reject when all occurrences of the most frequent 2-gram cover more than this share of characters."""


class Top3GramCharFrac(_TopNGramCharFrac):
    __doc__ = _TopNGramCharFrac.__doc__
    name: ClassVar[str] = "top_3gram_char_frac"
    language_defaults: ClassVar = _cjk_n(3)
    n: int = Field(3, gt=0)
    max_frac: float = Field(0.18, ge=0, le=1)
    """Reject when all occurrences of the most frequent 3-gram cover more than this share of characters."""


class Top4GramCharFrac(_TopNGramCharFrac):
    __doc__ = _TopNGramCharFrac.__doc__
    name: ClassVar[str] = "top_4gram_char_frac"
    language_defaults: ClassVar = _cjk_n(4)
    n: int = Field(4, gt=0)
    max_frac: float = Field(0.16, ge=0, le=1)
    """Reject when all occurrences of the most frequent 4-gram cover more than this share of characters."""


class _DupNGramCharFrac(_MaxFrac):
    """Repeated word n-grams (copies after the first) cover too much of the text: boilerplate
    paragraphs pasted twice, templated listings."""

    n: int = Field(gt=0)
    """N-gram length in word units (doubled for Chinese/Japanese, whose units are characters)."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.duplicate_ngram_chars(self.n) / len(doc.text) if doc.text else None


class Dup5GramCharFrac(_DupNGramCharFrac):
    __doc__ = _DupNGramCharFrac.__doc__
    name: ClassVar[str] = "dup_5gram_char_frac"
    language_defaults: ClassVar = _cjk_n(5)
    n: int = Field(5, gt=0)
    max_frac: float = Field(0.15, ge=0, le=1)
    """Reject when repeated 5-grams cover more than this share of characters."""


class Dup6GramCharFrac(_DupNGramCharFrac):
    __doc__ = _DupNGramCharFrac.__doc__
    name: ClassVar[str] = "dup_6gram_char_frac"
    language_defaults: ClassVar = _cjk_n(6)
    n: int = Field(6, gt=0)
    max_frac: float = Field(0.14, ge=0, le=1)
    """Reject when repeated 6-grams cover more than this share of characters."""


class Dup7GramCharFrac(_DupNGramCharFrac):
    __doc__ = _DupNGramCharFrac.__doc__
    name: ClassVar[str] = "dup_7gram_char_frac"
    language_defaults: ClassVar = _cjk_n(7)
    n: int = Field(7, gt=0)
    max_frac: float = Field(0.13, ge=0, le=1)
    """Reject when repeated 7-grams cover more than this share of characters."""


class Dup8GramCharFrac(_DupNGramCharFrac):
    __doc__ = _DupNGramCharFrac.__doc__
    name: ClassVar[str] = "dup_8gram_char_frac"
    language_defaults: ClassVar = _cjk_n(8)
    n: int = Field(8, gt=0)
    max_frac: float = Field(0.12, ge=0, le=1)
    """Reject when repeated 8-grams cover more than this share of characters."""


class Dup9GramCharFrac(_DupNGramCharFrac):
    __doc__ = _DupNGramCharFrac.__doc__
    name: ClassVar[str] = "dup_9gram_char_frac"
    language_defaults: ClassVar = _cjk_n(9)
    n: int = Field(9, gt=0)
    max_frac: float = Field(0.11, ge=0, le=1)
    """Reject when repeated 9-grams cover more than this share of characters."""


class Dup10GramCharFrac(_DupNGramCharFrac):
    __doc__ = _DupNGramCharFrac.__doc__
    name: ClassVar[str] = "dup_10gram_char_frac"
    language_defaults: ClassVar = _cjk_n(10)
    n: int = Field(10, gt=0)
    max_frac: float = Field(0.10, ge=0, le=1)
    """Reject when repeated 10-grams cover more than this share of characters."""


RULES = (DupLineFrac, DupParagraphFrac, DupLineCharFrac, DupParagraphCharFrac,
         Top2GramCharFrac, Top3GramCharFrac, Top4GramCharFrac, Dup5GramCharFrac, Dup6GramCharFrac,
         Dup7GramCharFrac, Dup8GramCharFrac, Dup9GramCharFrac, Dup10GramCharFrac)
