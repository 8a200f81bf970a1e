"""Per-document statistics shared by every rule, each computed at most once and only if asked.

The whole rule set then costs one pass per document: word units, lines, duplicate counts and
n-gram hashes are computed the first time a rule reads them and reused by the others (the
Gopher repetition rules alone would otherwise split the text into n-grams nine times, which
is where datatrove spends ~20 ms per document).

Words are `dataflow.text.word_units`: Unicode words for spaced scripts, one unit per
character for Chinese, Japanese, Thai... N-grams are hashed to 64 bits (word ids mixed with
splitmix64, combined polynomially) and counted with one hash-table pass per n instead of
building joined strings; a collision needs two distinct n-grams of one document to share 64 bits.
"""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np
import pandas as pd

from dataflow.text import CJK_SENTENCE_END, word_units

_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_PUNCTUATION_RUN = re.compile(r"[^\w\s]+")
_DIGIT_JOINER = re.compile(r"(?<=\d)[.,:/](?=\d)")  # one token: "3.5", "30,154", "2:18", "05/12/2020"
_WORD_JOINER = re.compile(r"(?<=\w)['’.](?=\w)")  # not a token of its own: "don't", "U.S", "example.com"
_URL = re.compile(r"(?:https?://|www\.)\S+")
#: A sentence ends with . ! ? (followed by a space or the line end, closing quotes allowed) or with a
#: CJK full stop, question or exclamation mark (`dataflow.text.CJK_SENTENCE_END`, where the C4 rules
#: also cut unterminated Chinese and Japanese lines). A match starts only at the first mark of a run
#: and never backtracks into it: a line of 40k dots takes ms, not a minute.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"'”’“»)\]]*+(?=\s|$)|" + CJK_SENTENCE_END.pattern)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


class TextStats:
    """Lazily computed statistics of one document's text (and its language and URL)."""

    def __init__(self, text: str, language: str | None = None, url: str | None = None):
        self.text = text
        self.language = language or ""
        self.url = url or ""
        self._ngram_hashes: dict[int, np.ndarray] = {}

    @cached_property
    def words(self) -> list[str]:
        return word_units(self.text)

    @cached_property
    def token_counts(self) -> tuple[int, int]:
        """(tokens, tokens without a letter), tokens counted the way word tokenizers count them
        (spaCy, NLTK): word units, each run of punctuation as one token, a number with
        separators ("30,154", "05/12/2020") as one, a URL as one. datatrove, whose filters made
        FineWeb, divides its symbol, alphabetic-word and newline ratios by this count; so do we."""
        tokens, non_alpha = _token_counts(self.text, self.words)
        for url in _URL.findall(self.text):
            url_tokens, url_non_alpha = _token_counts(url, word_units(url))
            tokens -= url_tokens - 1
            non_alpha -= url_non_alpha
        return tokens, non_alpha

    @property
    def tokens(self) -> int:
        return self.token_counts[0]

    @cached_property
    def word_chars(self) -> np.ndarray:
        """Characters per word, shape (len(words),)."""
        return np.fromiter(map(len, self.words), dtype=np.int64, count=len(self.words))

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, unstripped."""
        return [line for line in self.text.split("\n") if line.strip()]

    @cached_property
    def line_duplicates(self) -> tuple[int, int]:
        """(lines that repeat an earlier line, characters in them)."""
        return duplicates(self.lines)

    @cached_property
    def paragraphs(self) -> list[str]:
        return _PARAGRAPH_BREAK.split(self.text.strip())

    @cached_property
    def paragraph_duplicates(self) -> tuple[int, int]:
        return duplicates(self.paragraphs)

    @cached_property
    def sentences(self) -> int:
        """Sentences, at least one per non-empty line (a line is a unit even without a full stop)."""
        return sum(max(1, len(_SENTENCE_END.findall(line))) for line in self.lines)

    @cached_property
    def codes(self) -> np.ndarray:
        """Unicode code points of the text, shape (len(text),)."""
        return np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)

    def ngram_hashes(self, n: int) -> np.ndarray:
        """64-bit hashes of the word n-grams, shape (len(words) - n + 1,)."""
        if n not in self._ngram_hashes:
            if n == 1:
                first_index: dict[str, int] = {}  # a word's id is the position of its first occurrence
                ids = np.fromiter(map(first_index.setdefault, self.words, range(len(self.words))),
                                  dtype=np.uint64, count=len(self.words))
                hashes = _splitmix64(ids)
            else:
                shorter = self.ngram_hashes(n - 1)
                hashes = shorter[:-1] * _GOLDEN + self.ngram_hashes(1)[n - 1:]  # wraps mod 2^64
            self._ngram_hashes[n] = hashes
        return self._ngram_hashes[n]

    def _ngram_occurrences(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(is_first, counts, first_positions) of the n-grams: whether each position is the first
        occurrence of its n-gram, and per distinct n-gram (in order of first occurrence) its count
        and first position. pandas' hash-table factorize numbers n-grams in order of appearance."""
        codes = pd.factorize(self.ngram_hashes(n))[0]
        running_max = np.maximum.accumulate(codes)
        is_first = np.empty(len(codes), dtype=bool)
        is_first[:1] = True
        is_first[1:] = running_max[1:] > running_max[:-1]
        return is_first, np.bincount(codes), np.flatnonzero(is_first)

    def top_ngram_chars(self, n: int) -> int:
        """Characters in all occurrences of the most frequent n-gram (words joined by one space).
        As in datatrove, ties go to the n-gram seen first, and an n-gram seen once counts too: a
        text only a few n-grams long measures high, which only documents far below Gopher's
        50-word minimum do."""
        if len(self.words) < n:
            return 0
        _, counts, first_positions = self._ngram_occurrences(n)
        best = int(counts.argmax())  # the first of the most frequent, in order of appearance
        start = first_positions[best]
        return int(counts[best] * (self.word_chars[start:start + n].sum() + n - 1))

    def duplicate_ngram_chars(self, n: int) -> int:
        """Characters of the words covered by n-grams that repeat an earlier n-gram, each word
        counted once however many duplicate n-grams overlap it (Gopher, Rae et al. 2021, A1)."""
        if len(self.words) <= n:
            return 0
        is_first, _, _ = self._ngram_occurrences(n)
        repeats = np.flatnonzero(~is_first)
        if not len(repeats):
            return 0
        delta = np.zeros(len(self.words) + 1, dtype=np.int32)
        delta[repeats] += 1  # each repeat covers words [start, start + n)
        delta[repeats + n] -= 1
        covered = np.cumsum(delta[:-1]) > 0
        return int(self.word_chars[covered].sum())


def _token_counts(text: str, words: list[str]) -> tuple[int, int]:
    """(tokens, tokens without a letter) of `text` whose word units are `words` (no URL handling)."""
    digit_joiners = len(_DIGIT_JOINER.findall(text))
    punctuation = len(_PUNCTUATION_RUN.findall(text)) - digit_joiners - len(_WORD_JOINER.findall(text))
    digit_words = sum(map(str.isdigit, words))
    return len(words) - digit_joiners + punctuation, digit_words - digit_joiners + punctuation


def duplicates(items: list[str]) -> tuple[int, int]:
    """(items equal to an earlier item, their characters): the first copy is not a duplicate."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Steele et al.'s splitmix64 finaliser: spreads small word ids over 64 bits."""
    x = values + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))
