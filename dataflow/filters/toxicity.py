"""Toxic and abusive text: scores per document, a threshold per scorer, rejected rows with reason `toxic`.

Three scorers, each optional, each with its own threshold; a document is toxic when any scorer
exceeds its threshold, and every score is kept in `filter_values` (`toxicity.words`,
`toxicity.english_model`, `toxicity.fasttext`) so a stricter cut later is a `where`:

- **Word lists** per language, of the kind C4 used (LDNOOBW, "List of Dirty, Naughty, Obscene or
  Otherwise Bad Words"; ../shared/data/text/lists/naughty_words_en.txt is the English one). C4
  dropped a page for a single listed word, which removes medical, legal and literary text
  (Dodge et al. 2021, "Documenting Large Webtext Corpora", section 5). Here the score is a
  *share*: the largest share of words covered by listed entries in any window of `word_window`
  consecutive words, so one word in an article stays far below the threshold while an abusive
  passage planted in a long clean page is still found (a share of the whole page would dilute it).
- **alt-profanity-check** for English: a linear SVM over TF-IDF word n-grams trained on ~200k
  labelled comments, shipped inside the package (works offline). It was trained on short
  comments, so it reads windows of `word_window` words and the score is the highest
  probability of any window: a rude word inside a paragraph of prose weighs little, an abusive
  passage of a few sentences fills its window.
- **A fastText toxicity model** for any language, in the format of dolma's Jigsaw models
  (`jigsaw_fasttext_bigrams_hatespeech_final.bin`: labels `__label__toxic` / `__label__non-toxic`);
  the score is the probability of `fasttext_label` for the whole document (newlines folded), as dolma's
  document-level tagger reads it. It is loaded once per Python worker, like the language model.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

import numpy as np
from pydantic import Field, field_validator

from dataflow.config import StrictModel
from dataflow.extract.langid import load_model
from dataflow.filters.lists import banned_pattern, read_list
from dataflow.text import UNSPACED_LANGUAGES, normalize, unspaced_share, word_units

WORDS, ENGLISH_MODEL, FASTTEXT = "toxicity.words", "toxicity.english_model", "toxicity.fasttext"
TOXIC = "toxic"
_WORD = re.compile(r"[^\W_]+")
#: fastText reads at most this many characters of a document (its cost is linear in length).
_FASTTEXT_CHARS = 10_000


class ToxicityConfig(StrictModel):
    """Settings of toxicity scoring in the filter stage (after the rules, on kept documents)."""

    word_lists: dict[str, str] = {}
    """Word-list file per language (one entry per line, LDNOOBW kind), e.g. {en: lists/naughty_words_en.txt};
    the key "*" serves every language without its own list."""
    max_word_frac: float = Field(0.1, ge=0, le=1)
    """Reject documents where listed entries cover more than this share of the words of some window."""
    word_window: int = Field(30, gt=0)
    """Words per window (both scorers): about two sentences, so an abusive passage fills its window
    and a listed word in prose does not; of 15, 20, 30 and 50 words, 30 best separated the planted
    passages from the clean sets of bench/text_safety.py."""
    english_model: bool = False
    """Score English documents with alt-profanity-check's packaged model."""
    max_english_score: float = Field(0.99, ge=0, le=1)
    """Reject English documents where some window of `word_window` words has a higher profanity probability."""
    fasttext_model: str | None = None
    """fastText toxicity model (dolma's Jigsaw format), a local path seen by every executor."""
    fasttext_label: str = "__label__toxic"
    """The model's label for toxic text."""
    max_fasttext_score: float = Field(0.5, ge=0, le=1)
    """Reject documents the fastText model gives a higher probability of `fasttext_label`."""

    @field_validator("word_lists")
    @classmethod
    def _lists_exist(cls, lists: dict[str, str]) -> dict[str, str]:
        for language, path in lists.items():
            if "://" not in path and not os.path.isfile(path):
                raise ValueError(f"word list {path} for language {language!r} does not exist")
        return lists

    @field_validator("fasttext_model")
    @classmethod
    def _model_exists(cls, path: str | None) -> str | None:
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"fastText toxicity model {path} does not exist (give a local path every executor sees)")
        return path

    @property
    def enabled(self) -> bool:
        return bool(self.word_lists) or self.english_model or self.fasttext_model is not None

    def thresholds(self) -> dict[str, float]:
        """Each scorer's key in `filter_values` and its threshold, in the order they are checked."""
        return {WORDS: self.max_word_frac, ENGLISH_MODEL: self.max_english_score, FASTTEXT: self.max_fasttext_score}


def score_documents(texts: list[str], languages: list[str | None], config: ToxicityConfig) -> list[dict[str, float]]:
    """Per document, the score of every scorer that applies to it (none: an empty dict)."""
    scores: list[dict[str, float]] = [{} for _ in texts]
    for i, (text, language) in enumerate(zip(texts, languages)):
        path = config.word_lists.get(language or "", config.word_lists.get("*"))
        if path is not None:
            scores[i][WORDS] = listed_word_share(text, language, path, config.word_window)
    english = [i for i, language in enumerate(languages) if language == "en"]
    if config.english_model and english:
        for i, probability in zip(english, profane_window_scores([texts[i] for i in english], config.word_window)):
            scores[i][ENGLISH_MODEL] = probability
    if config.fasttext_model is not None and texts:
        for i, probability in enumerate(fasttext_scores(texts, config.fasttext_model, config.fasttext_label)):
            scores[i][FASTTEXT] = probability
    return scores


def toxic_value(scores: dict[str, float], config: ToxicityConfig) -> float | None:
    """The first score over its threshold (words, English model, fastText), or None when the document passes."""
    return next((scores[key] for key, limit in config.thresholds().items() if key in scores and scores[key] > limit),
                None)


def listed_word_share(text: str, language: str | None, path: str, window: int) -> float:
    """The largest share of listed words in any `window` consecutive words (all words if fewer).

    Words are runs of letters and digits of the case-folded text, for the document and the entries
    alike; a multi-word entry covers its words only where they occur in sequence. Chinese,
    Japanese and Thai have no word boundaries: there entries match anywhere in the normalised
    text (`lists.banned_pattern`), and words are characters.
    """
    if (language or "") in UNSPACED_LANGUAGES or unspaced_share(text[:2000]) > 0.5:
        words = word_units(normalize(text))
        covered = np.zeros(len(words), dtype=np.int32)
        for match in banned_pattern(path, True).finditer(" ".join(words)):
            covered[match.string.count(" ", 0, match.start()):][:len(word_units(match.group()))] = 1
    else:
        words = _WORD.findall(text.casefold())
        covered = _covered_words(words, _entries_by_first_word(path))
    if not len(words):
        return 0.0
    width = min(window, len(words))
    sums = np.cumsum(np.concatenate(([0], covered)))
    return float((sums[width:] - sums[:-width]).max()) / width


def _covered_words(words: list[str], entries: dict[str, tuple[tuple[str, ...], ...]]) -> np.ndarray:
    """1 for each word inside an occurrence of a listed entry, shape (len(words),)."""
    covered = np.zeros(len(words), dtype=np.int32)
    for i, word in enumerate(words):
        for entry in entries.get(word, ()):
            if len(entry) == 1 or tuple(words[i:i + len(entry)]) == entry:
                covered[i:i + len(entry)] = 1
                break
    return covered


@lru_cache(maxsize=8)
def _entries_by_first_word(path: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The list's entries as word tuples, grouped by first word, longest first."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for entry in read_list(path):
        words = tuple(_WORD.findall(entry.casefold()))
        if words:
            grouped.setdefault(words[0], []).append(words)
    return {first: tuple(sorted(group, key=len, reverse=True)) for first, group in grouped.items()}


def profane_window_scores(texts: list[str], window: int) -> list[float]:
    """Per text, the highest alt-profanity-check probability over its windows of `window` whitespace-separated
    words (consecutive, not overlapping): a rude line is judged with its context, an abusive passage alone."""
    windows = [[" ".join(words[start:start + window]) for start in range(0, len(words), window)]
               for words in map(str.split, texts)]
    flat = [part for parts in windows for part in parts]
    if not flat:
        return [0.0] * len(texts)
    probabilities = iter(_profanity_model()(flat).tolist())
    return [max((next(probabilities) for _ in parts), default=0.0) for parts in windows]


def fasttext_scores(texts: list[str], model_path: str, label: str) -> list[float]:
    """Probability of `label` per text (0 for empty text), from the model at `model_path`."""
    model = load_model(model_path)
    lines = [" ".join(text[:_FASTTEXT_CHARS].split()) for text in texts]  # fastText refuses newlines
    labels, probabilities = model.predict(lines, k=-1)
    return [float(dict(zip(names, probs)).get(label, 0.0)) if line else 0.0
            for line, names, probs in zip(lines, labels, probabilities)]


@lru_cache(maxsize=1)
def _profanity_model():
    """alt-profanity-check's `predict_prob`, imported once per process (it loads the model at import)."""
    from profanity_check import predict_prob

    return predict_prob
