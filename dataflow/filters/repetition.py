"""Gopher repetition rules (Rae et al. 2021, appendix A.1.1 and table A1; reference code:
datatrove's `GopherRepetitionFilter`).

Table A1 thresholds: duplicate line and paragraph fractions 0.30, their character fractions
0.20; the most frequent 2-, 3- and 4-gram may cover at most 0.20, 0.18 and 0.16 of the
characters; duplicated 5- to 10-grams at most 0.15 down to 0.10. Character fractions divide
by the document's length in characters. N-gram statistics come from the shared `TextStats`
(hashed n-grams, one sort per n), which is what makes these rules cheap.

The nine n-gram rules differ only in n and threshold: they are made from the table's rows
(`TOP_NGRAM_MAX_FRAC`, `DUP_NGRAM_MAX_FRAC`), one class per row, named `top_<n>gram_char_frac`
and `dup_<n>gram_char_frac`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from dataflow.filters.rule import MaxValue, Share
from dataflow.filters.stats import TextStats

#: Table A1: n -> the largest share of characters that all occurrences of the most frequent n-gram may cover.
TOP_NGRAM_MAX_FRAC = {2: 0.20, 3: 0.18, 4: 0.16}
#: Table A1: n -> the largest share of characters that repeated n-grams (copies after the first) may cover.
DUP_NGRAM_MAX_FRAC = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def _cjk_n(n: int) -> dict[str, dict[str, int]]:
    """Chinese and Japanese words average 1.5-2 characters, and their units are characters: an
    n-word window is about 2n units. Without this, repeated names and set phrases ("新型コロナ",
    five characters) make clean articles fail the 5-gram rule."""
    return {"zh": {"n": 2 * n}, "ja": {"n": 2 * n}}


class DupLineFrac(MaxValue):
    """Drop pages made of repeated lines: menus, tag clouds, "/////" pages; prose rarely repeats a line."""

    name: ClassVar[str] = "dup_line_frac"
    max_frac: Share = 0.30
    """Reject when more than this share of non-empty lines are exact repeats of an earlier line."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.line_duplicates[0] / len(doc.lines) if doc.lines else None


class DupParagraphFrac(MaxValue):
    """Drop pages whose paragraphs (blank-line separated) repeat."""

    name: ClassVar[str] = "dup_para_frac"
    max_frac: Share = 0.30
    """Reject when more than this share of paragraphs repeat an earlier paragraph."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.paragraph_duplicates[0] / len(doc.paragraphs) if doc.text.strip() else None


class DupLineCharFrac(MaxValue):
    """Drop pages where repeated lines hold much of the text."""

    name: ClassVar[str] = "dup_line_char_frac"
    max_frac: Share = 0.20
    """Reject when repeated lines hold more than this share of the characters."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.line_duplicates[1] / len(doc.text) if doc.text else None


class DupParagraphCharFrac(MaxValue):
    """Drop pages where repeated paragraphs hold much of the text."""

    name: ClassVar[str] = "dup_para_char_frac"
    max_frac: Share = 0.20
    """Reject when repeated paragraphs hold more than this share of the characters."""

    def measure(self, doc: TextStats) -> float | None:
        return doc.paragraph_duplicates[1] / len(doc.text) if doc.text else None


class _TopNGramCharFrac(MaxValue):
    """The most frequent word n-gram covers too much of the text ("click here click here ...")."""

    n: int = Field(gt=0)
    max_frac: Share

    def measure(self, doc: TextStats) -> float | None:
        return doc.top_ngram_chars(self.n) / len(doc.text) if doc.text else None


class _DupNGramCharFrac(MaxValue):
    """Repeated word n-grams (copies after the first) cover too much of the text: boilerplate
    paragraphs pasted twice, templated listings."""

    n: int = Field(gt=0)
    max_frac: Share

    def measure(self, doc: TextStats) -> float | None:
        return doc.duplicate_ngram_chars(self.n) / len(doc.text) if doc.text else None


def _ngram_rule(base: type[MaxValue], kind: str, n: int, max_frac: float) -> type[MaxValue]:
    """The rule `<kind>_<n>gram_char_frac`: `base` with the table's n and threshold as defaults."""
    covered = f"all occurrences of the most frequent {n}-gram" if kind == "top" else f"repeated {n}-grams"
    return type(f"{kind.title()}{n}GramCharFrac", (base,), {
        "__module__": __name__, "__qualname__": f"{kind.title()}{n}GramCharFrac", "__doc__": base.__doc__,
        "name": f"{kind}_{n}gram_char_frac", "language_defaults": _cjk_n(n),
        "__annotations__": {"n": int, "max_frac": Share},
        "model_config": ConfigDict(use_attribute_docstrings=False),  # no source to read: descriptions below
        "n": Field(n, gt=0, description="N-gram length in word units (doubled for Chinese/Japanese, whose "
                                        "units are characters)."),
        "max_frac": Field(max_frac, description=f"Reject when {covered} cover more than this share "
                                                "of characters."),
    })


RULES = (DupLineFrac, DupParagraphFrac, DupLineCharFrac, DupParagraphCharFrac,
         *(_ngram_rule(_TopNGramCharFrac, "top", n, frac) for n, frac in TOP_NGRAM_MAX_FRAC.items()),
         *(_ngram_rule(_DupNGramCharFrac, "dup", n, frac) for n, frac in DUP_NGRAM_MAX_FRAC.items()))
