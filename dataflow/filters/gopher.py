"""Gopher quality rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights
from Training Gopher", appendix A.1.1 "Quality filtering"; reference code: datatrove's
`GopherQualityFilter`).

The paper keeps a MassiveWeb document only if it has 50 to 100,000 words, a mean word length
of 3 to 10 characters, a symbol-to-word ratio of at most 0.1 for the hash symbol and for the
ellipsis, at most 90% of lines starting with a bullet point, at most 30% of lines ending with
an ellipsis, at least 80% of words containing an alphabetic character, and at least two of
the English stop words "the, be, to, of, and, that, have, with".

Words are `dataflow.text.word_units`: Chinese and Japanese count one unit per character, so
their word-count and mean-word-length limits are overridden per language (`language_defaults`,
calibrated on the real zh/ja pages of ../shared/data/html: articles measure 1.0-1.3 characters
per unit, and 100 units is about two sentences). Stop words come from a small list per
language (`stop_words/<lang>.txt`); for zh and ja they are frequent function characters.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import ClassVar

from dataflow.filters.rule import Count, LineShare, MaxValue, MinValue, NonNegative, Share, ValueRange
from dataflow.filters.stats import TextStats

#: Chinese and Japanese are counted in characters (dataflow.text.word_units).
_CJK_WORD_COUNT = {"min_words": 100, "max_words": 300_000}
_CJK_WORD_LENGTH = {"min_chars": 1.0, "max_chars": 1.5}
BULLETS = ("•", "-", "*", "·", "‣", "◦", "▪", "●")
ELLIPSES = ("...", "…")


class GopherWordCount(ValueRange):
    """Too short or too long: Gopher keeps 50 to 100,000 words.

    Chinese and Japanese (one unit per character): 100 to 300,000 units.
    """

    name: ClassVar[str] = "gopher_word_count"
    language_defaults: ClassVar = {"zh": _CJK_WORD_COUNT, "ja": _CJK_WORD_COUNT}
    thresholds: ClassVar = ("min_words", "max_words")

    min_words: Count = 50
    """Reject documents with fewer words (word units)."""
    max_words: Count = 100_000
    """Reject documents with more words."""

    def measure(self, doc: TextStats) -> float:
        return len(doc.words)


class GopherMeanWordLength(ValueRange):
    """Mean word length outside 3-10 characters: tables of numbers, URL lists, run-together text.

    Chinese and Japanese (one unit per character, Latin words and numbers mixed in): 1.0-1.5;
    navigation pages full of Latin menu words and dates measure above 1.5.
    """

    name: ClassVar[str] = "gopher_mean_word_length"
    language_defaults: ClassVar = {"zh": _CJK_WORD_LENGTH, "ja": _CJK_WORD_LENGTH}
    thresholds: ClassVar = ("min_chars", "max_chars")

    min_chars: NonNegative = 3.0
    """Reject documents whose words average fewer characters."""
    max_chars: NonNegative = 10.0
    """Reject documents whose words average more characters."""

    def measure(self, doc: TextStats) -> float | None:
        return float(doc.word_chars.mean()) if len(doc.words) else None


class GopherHashRatio(MaxValue):
    """More than 0.1 hash symbols per token (`TextStats.tokens`): hashtag and markdown-heading spam."""

    name: ClassVar[str] = "gopher_hash_ratio"
    threshold: ClassVar[str] = "max_ratio"

    max_ratio: NonNegative = 0.1
    """Reject documents with more `#` per word than this."""

    def measure(self, doc: TextStats) -> float:
        return doc.text.count("#") / max(1, doc.tokens)


class GopherEllipsisRatio(MaxValue):
    """More than 0.1 ellipses ("..." or "…") per token: teaser lists of truncated snippets."""

    name: ClassVar[str] = "gopher_ellipsis_ratio"
    threshold: ClassVar[str] = "max_ratio"

    max_ratio: NonNegative = 0.1
    """Reject documents with more ellipses per word than this."""

    def measure(self, doc: TextStats) -> float:
        return sum(map(doc.text.count, ELLIPSES)) / max(1, doc.tokens)


class GopherBulletLines(LineShare, MaxValue):
    """More than 90% of lines start with a bullet point: menus and link lists."""

    name: ClassVar[str] = "gopher_bullet_lines"

    max_frac: Share = 0.9
    """Reject documents with a larger share of non-empty lines starting with a bullet (• - * · ...)."""

    def counts(self, line: str) -> bool:
        return line.lstrip().startswith(BULLETS)


class GopherEllipsisLines(LineShare, MaxValue):
    """More than 30% of lines end with an ellipsis: truncated teasers."""

    name: ClassVar[str] = "gopher_ellipsis_lines"

    max_frac: Share = 0.3
    """Reject documents with a larger share of non-empty lines ending in "..." or "…"."""

    def counts(self, line: str) -> bool:
        return line.rstrip().endswith(ELLIPSES)


class GopherAlphaWords(MinValue):
    """Fewer than 80% of tokens contain a letter: number tables, code, symbol soup.

    Tokens are word units plus punctuation marks (`TextStats.tokens`), as in datatrove, whose
    word tokenizer made FineWeb: prose measures 0.83-0.9, listings and tables below 0.8.

    Chinese and Japanese are counted without punctuation (`punctuation_tokens: false`): their word
    units are characters, so a clause of eight characters and its "，" make one token in nine
    without a letter, and clean news articles with dates and quotes (「」) measured 0.68-0.79 on
    the real pages. Without punctuation the share is letters among word units, and only numbers
    count against it, which is what the rule is after (tables and listings); English counts
    punctuation because its word tokens are words, as in datatrove.
    """

    name: ClassVar[str] = "gopher_alpha_words"
    language_defaults: ClassVar = {"zh": {"punctuation_tokens": False}, "ja": {"punctuation_tokens": False}}

    min_frac: Share = 0.8
    """Reject documents where a smaller share of tokens contains an alphabetic character."""
    punctuation_tokens: bool = True
    """Count runs of punctuation as tokens without a letter (datatrove's tokens); false: word units only."""

    def measure(self, doc: TextStats) -> float | None:
        if not self.punctuation_tokens:
            return 1 - sum(map(str.isdigit, doc.words)) / len(doc.words) if doc.words else None
        tokens, non_alpha = doc.token_counts
        return 1 - non_alpha / tokens if tokens else None


class GopherStopWords(MinValue):
    """Fewer than two distinct stop words: not running text in the document's language.

    The English list is Gopher's eight words; de, fr, es, ru, zh and ja have lists of the same
    kind (stop_words/<lang>.txt). Languages without a list are not checked, unless `words`
    gives one list for every language.
    """

    name: ClassVar[str] = "gopher_stop_words"
    threshold: ClassVar[str] = "min_count"

    min_count: Count = 2
    """Reject documents containing fewer distinct stop words (case-insensitive)."""
    words: list[str] | None = None
    """One stop-word list for all languages; default: the list for the document's language."""

    def measure(self, doc: TextStats) -> float | None:
        vocabulary = frozenset(self.words) if self.words is not None else stop_words(doc.language)
        if vocabulary is None:
            return None
        return len(vocabulary.intersection(word.casefold() for word in doc.words))


@lru_cache(maxsize=None)
def stop_words(language: str) -> frozenset[str] | None:
    """The packaged stop-word list of `language` (stop_words/<lang>.txt), None if there is none."""
    path = resources.files(__package__) / "stop_words" / f"{language}.txt"
    if not language.isalpha() or not path.is_file():
        return None
    return frozenset(line.strip().casefold() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


RULES = (GopherWordCount, GopherMeanWordLength, GopherHashRatio, GopherEllipsisRatio, GopherBulletLines,
         GopherEllipsisLines, GopherAlphaWords, GopherStopWords)
