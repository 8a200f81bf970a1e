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
- `normalized_unit_spans(text)`: the same units as `normalized_units(text)`, each with the
  [start, end) character offsets it came from in the original text, so a match found on
  normalised units can be shown, cut out or reported in the text as written.
- `normalize_batch(texts)`: both of the above for many texts at once as numpy arrays, for
  MinHash over Arrow batches. The regular expressions are ~70% of the per-document cost of
  `normalized_units` (~2 ms for a 5 KB page); the batch form replaces them with a lookup
  table of per-code-point classes built *from the same expressions*, so it cannot drift from
  them, and tests/dataflow/test_text.py checks it against `normalize`/`normalized_units` on
  every real page and every code point.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

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
_WORDS = re.compile(r"\w+")  # the same units when the text has no unspaced character, 3x faster
_UNSPACED_CHAR = re.compile(rf"[{_UNSPACED}]")
_TOKEN = re.compile(rf"[^\s{_UNSPACED}]+")
_DIGITS = re.compile(r"\d")
_NOT_WORD = re.compile(r"[\W_]+")
#: Unicode Sentence_Terminal characters of the Basic Multilingual Plane (UAX #29 `STerm`): full
#: stops, question and exclamation marks of every living script. datatrove's TERMINAL_PUNCTUATION,
#: which FineWeb's line-punctuation rule uses, is built from the same property.
SENTENCE_TERMINALS = frozenset(
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964"
    "\u0965\u104a\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u1803\u1809\u1944\u1945"
    "\u1aa8\u1aa9\u1aaa\u1aab\u1b4e\u1b4f\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1b7f\u1c3b\u1c3c"
    "\u1c7e\u1c7f\u2024\u203c\u203d\u2047\u2048\u2049\u2cf9\u2cfa\u2cfb\u2e2e\u2e3c\u2e53\u2e54"
    "\u2e60\u2e61\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8\ua9c9"
    "\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe12\ufe15\ufe16\ufe52\ufe56\ufe57\uff01\uff0e\uff1f"
    "\uff61"
)

#: Where a Chinese or Japanese sentence ends: an ideographic full stop (。 or half-width ｡), a full-width
#: question or exclamation mark, and the closing quotes that may follow. No space follows these marks, so
#: they are sentence ends wherever they stand; the C4 rules cut and count unspaced text at them.
CJK_SENTENCE_END = re.compile(r"[。｡！？]+[」』”’]*")

#: A unit in case-folded text before punctuation is dropped: `_WORD_UNITS` restricted to word
#: characters other than `_`, which `normalize` turns into spaces (as it does "・" or "。").
_FOLDED_UNITS = re.compile(rf"(?=[^\W_])[{_UNSPACED}]|[^\W_{_UNSPACED}]+")
_SPACE_OR_NOT = re.compile(r"\s+|\S+")
#: Languages whose text is mostly in unspaced scripts (ISO 639-1 / lid.176 codes).
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue"})


def word_units(text: str) -> list[str]:
    """Words of spaced scripts and single characters of unspaced ones, in order.

    >>> word_units("Hello, world! 東京タワー is 333m")
    ['Hello', 'world', '東', '京', 'タ', 'ワ', 'ー', 'is', '333m']
    """
    return (_WORD_UNITS if _UNSPACED_CHAR.search(text) else _WORDS).findall(text)


def count_word_units(text: str, limit: int | None = None) -> int:
    """len(word_units(text)), counting no further than `limit`.

    >>> count_word_units("one two three four", limit=3)
    3
    """
    return sum(1 for _ in itertools.islice(_WORD_UNITS.finditer(text), limit))


def normalize(text: str) -> str:
    """The comparison form of `text` used by dedup and decontamination.

    >>> normalize("It's 42%!\\n  Ｆｕｌｌ-width")
    'it s 00 full width'
    """
    text = _fold(text)
    text = _DIGITS.sub("0", text)
    return " ".join(_NOT_WORD.sub(" ", text).split())


def _fold(text: str) -> str:
    """NFKC then case folding; most pages are already NFKC, and checking is ~10x cheaper."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.casefold()


def normalized_units(text: str) -> list[str]:
    """`word_units` of the normalised text: the tokens that shingles and n-grams are built from."""
    return word_units(normalize(text))


def normalized_unit_spans(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """`normalized_units(text)` and the [start, end) offsets in `text` of each unit (int64 arrays).

    NFKC and case folding may change lengths ("ß" -> "ss", "ﬁ" -> "fi", "…" -> "...") or
    compose characters ("e" + U+0301 -> "é"). Without composition, folding character by
    character gives the folded text, and each folded character comes from one original
    character. With it, the text is folded token by token (whitespace never composes with
    its neighbours, so this equals folding the whole), and a composing token's folded
    characters all map to the whole token.

    >>> units, starts, ends = normalized_unit_spans("Straße, ﬁne!")
    >>> units, starts.tolist(), ends.tolist()
    (['strasse', 'fine'], [0, 8], [6, 11])
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    found = list(_FOLDED_UNITS.finditer(_DIGITS.sub("0", folded)))
    units = [unit.group() for unit in found]
    bounds = np.array([unit.span() for unit in found], dtype=np.int64).reshape(-1, 2)
    if text.translate(_FOLDED_CHAR) != folded:
        starts, ends = _token_origins(text)
        return units, starts[bounds[:, 0]], ends[bounds[:, 1] - 1]
    if len(folded) == len(text):  # one folded character per original character
        return units, bounds[:, 0], bounds[:, 1]
    lengths = np.fromiter(map(len, map(_FOLDED_CHAR.__getitem__, map(ord, text))), np.int64, len(text))
    origin = np.repeat(np.arange(len(text)), lengths)
    return units, origin[bounds[:, 0]], origin[bounds[:, 1] - 1] + 1


class _FoldedChars(dict):
    """`str.translate` table: code point -> NFKC case fold of that one character, filled on use."""

    def __missing__(self, code: int) -> str:
        self[code] = unicodedata.normalize("NFKC", chr(code)).casefold()
        return self[code]


_FOLDED_CHAR = _FoldedChars()


def _token_origins(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Origin [start, end) of each character of the folded text, for text that composes."""
    starts: list[int] = []
    ends: list[int] = []
    for token in _SPACE_OR_NOT.finditer(text):
        whole = unicodedata.normalize("NFKC", token.group()).casefold()
        if token.group().translate(_FOLDED_CHAR) == whole:
            for i, char in enumerate(token.group(), token.start()):
                starts.extend([i] * len(_FOLDED_CHAR[ord(char)]))
                ends.extend([i + 1] * len(_FOLDED_CHAR[ord(char)]))
        else:
            starts.extend([token.start()] * len(whole))
            ends.extend([token.end()] * len(whole))
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def split_cjk_sentences(line: str) -> list[str]:
    """`line` cut after each `CJK_SENTENCE_END`, pieces stripped, empty ones left out.

    >>> split_cjk_sentences("| 今天下雨了。他说：“好！” 明天呢？ 2005-04-25 |")
    ['| 今天下雨了。', '他说：“好！”', '明天呢？', '2005-04-25 |']
    """
    cuts = [0, *(match.end() for match in CJK_SENTENCE_END.finditer(line)), len(line)]
    return [piece for start, end in itertools.pairwise(cuts) if (piece := line[start:end].strip())]


def unspaced_share(text: str) -> float:
    """Share of non-space characters in unspaced scripts: ~1 for Chinese/Japanese prose."""
    letters = len(text) - text.count(" ") - text.count("\n")
    return len(_UNSPACED_CHAR.findall(text)) / letters if letters > 0 else 0.0


def longest_token(text: str) -> int:
    """Characters in the longest run of non-space characters, unspaced-script characters
    counting as separators (so a Chinese paragraph is not one "word").

    >>> longest_token("see https://example.com/a 東京タワーです")
    21
    """
    tokens = _TOKEN.findall(text) if _UNSPACED_CHAR.search(text) else text.split()
    return max(map(len, tokens), default=0)


# --- the same, vectorised over many texts ---------------------------------------------------

_DROPPED, _SPACED, _UNSPACED_UNIT, _DIGIT = 0, 1, 2, 3
_SPACE = ord(" ")


@functools.lru_cache(maxsize=1)
def _char_classes() -> np.ndarray:
    """The class of every code point after case folding, derived from the expressions above.

    A digit (`_DIGITS`) becomes "0", a spaced-script word character; anything `_NOT_WORD`
    matches is dropped; a word character of `_UNSPACED` is a unit of its own. Built by
    running each expression over a string of all 1.1M code points (~0.3 s, once per process).
    """
    every = np.arange(0x110000, dtype=np.uint32)
    text = every.tobytes().decode("utf-32-le", "surrogatepass")

    def matches(pattern: re.Pattern) -> np.ndarray:
        marked = pattern.sub(lambda match: "\0" * len(match.group()), text)
        hit = np.frombuffer(marked.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) == 0
        hit[0] = pattern.fullmatch("\0") is not None
        return hit

    classes = np.full(every.size, _SPACED, dtype=np.uint8)
    classes[matches(_UNSPACED_CHAR)] = _UNSPACED_UNIT
    classes[matches(_NOT_WORD)] = _DROPPED
    classes[matches(_DIGITS)] = _DIGIT
    return classes


@dataclass(frozen=True)
class NormalizedBatch:
    """`normalize` and `normalized_units` of many texts, as flat numpy arrays.

    Text i is `codepoints[text_offsets[i]:text_offsets[i + 1]]` (UTF-32 code points of
    `normalize(texts[i])`); its units are `unit_offsets[i]:unit_offsets[i + 1]` of
    `unit_starts`/`unit_ends`, positions in `codepoints`.
    """

    codepoints: np.ndarray
    text_offsets: np.ndarray
    unit_starts: np.ndarray
    unit_ends: np.ndarray
    unit_offsets: np.ndarray

    def text(self, i: int) -> str:
        """`normalize(texts[i])`."""
        return self.codepoints[self.text_offsets[i]:self.text_offsets[i + 1]].tobytes().decode("utf-32-le")

    def units(self, i: int) -> list[str]:
        """`normalized_units(texts[i])`."""
        units, text, first = slice(self.unit_offsets[i], self.unit_offsets[i + 1]), self.text(i), self.text_offsets[i]
        return [text[start:end] for start, end in zip((self.unit_starts[units] - first).tolist(),
                                                     (self.unit_ends[units] - first).tolist())]


def normalize_batch(texts: Sequence[str | None]) -> NormalizedBatch:
    """`normalize` and `normalized_units` of every text (None counts as empty), vectorised.

    Only NFKC and case folding run per text (they are C code); digit folding, dropping,
    whitespace collapsing and unit segmentation are array operations over the whole batch.
    """
    folded = [_fold(text) if text else "" for text in texts]
    raw = np.frombuffer("".join(folded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    text_of_raw = np.repeat(np.arange(len(folded)), np.fromiter(map(len, folded), np.int64, len(folded)))
    classes = _char_classes()[raw]
    kept = np.flatnonzero(classes != _DROPPED)
    text_of = text_of_raw[kept]
    kept_classes = classes[kept]
    # A run of kept characters starts after a dropped one or at a text start; every run but a
    # text's first is preceded by one space in the normalised text.
    new_text = np.ones(kept.size, dtype=bool)
    new_text[1:] = text_of[1:] != text_of[:-1]
    space_before = np.zeros(kept.size, dtype=bool)
    space_before[1:] = (kept[1:] != kept[:-1] + 1) & ~new_text[1:]
    position = np.arange(kept.size) + np.cumsum(space_before, dtype=np.int64)
    codepoints = np.full(kept.size + (int(position[-1]) - kept.size + 1 if kept.size else 0), _SPACE, dtype=np.uint32)
    codepoints[position] = np.where(kept_classes == _DIGIT, ord("0"), raw[kept])
    unspaced = np.zeros(codepoints.size, dtype=bool)
    unspaced[position] = kept_classes == _UNSPACED_UNIT
    text_offsets = np.full(len(folded) + 1, codepoints.size, dtype=np.int64)
    # A text starts at its first kept character; an empty text where the next one starts.
    text_offsets[text_of[new_text]] = position[new_text]
    text_offsets = np.minimum.accumulate(text_offsets[::-1])[::-1]
    unit_starts, unit_ends = _unit_bounds(codepoints, unspaced, text_offsets)
    unit_offsets = np.searchsorted(unit_starts, text_offsets)
    return NormalizedBatch(codepoints, text_offsets, unit_starts, unit_ends, unit_offsets)


def normalized_chunks(texts: Sequence[str | None], max_chars: int = 1 << 17) -> Iterator[tuple[slice, NormalizedBatch]]:
    """`normalize_batch` over consecutive slices of `texts` of at most `max_chars` characters
    (or one longer text): memory stays bounded, and ~128K characters keep the arrays in cache."""
    start, size = 0, 0
    for end, text in enumerate(texts):
        length = len(text) if text else 0
        if end > start and size + length > max_chars:
            yield slice(start, end), normalize_batch(texts[start:end])
            start, size = end, 0
        size += length
    if start < len(texts):
        yield slice(start, len(texts)), normalize_batch(texts[start:])


def _unit_bounds(codepoints: np.ndarray, unspaced: np.ndarray, text_offsets: np.ndarray) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """Start and end positions of units: runs of non-spaces, each unspaced character alone."""
    word = codepoints != _SPACE
    boundary = np.zeros(codepoints.size + 1, dtype=bool)  # boundary[i]: between characters i-1 and i
    boundary[text_offsets] = True
    boundary[1:-1] |= ~word[1:] | ~word[:-1] | unspaced[1:] | unspaced[:-1]
    starts = np.flatnonzero(word & boundary[:-1])
    ends = np.flatnonzero(word & boundary[1:]) + 1
    return starts, ends
