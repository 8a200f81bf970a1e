"""Article text recombined from the project's own prose (`text/<lang>.txt`, `text/ui.json`).

The prose files were written for this project, so the sample WARCs carry no third-party
text. A file is a list of topics: a `## Heading` line, then one sentence per line. An
article takes two to four topics and builds each paragraph from a shuffled handful of one
topic's sentences. Two articles in the same language may share some sentences, as sites
that reuse stock phrases do, but `DistinctArticles` redraws any article that shares too many
with an earlier one, so only the planted near duplicates come near a dedup threshold.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from importlib import resources

#: Languages with prose; `en` dominates the sample as it dominates Common Crawl.
LANGUAGES = ("en", "de", "fr", "es", "ru", "zh", "ja")
#: Scripts written without spaces between words: sentences are joined without a space.
UNSPACED = frozenset({"zh", "ja"})


@dataclass(frozen=True)
class Topic:
    heading: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Article:
    """A titled text in sections; a paragraph is a tuple of sentences so edits can reorder them."""

    lang: str
    title: str
    sections: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
    style_seed: int
    """Seeds the text-bearing choices of rendering (section headings, a list, reader comments),
    so a copy rendered on another site keeps them and differs only in the edits and boilerplate."""

    @property
    def paragraphs(self) -> list[str]:
        return [join_sentences(self.lang, para) for _, paras in self.sections for para in paras]


def join_sentences(lang: str, sentences: tuple[str, ...] | list[str]) -> str:
    return ("" if lang in UNSPACED else " ").join(sentences)


@functools.cache
def topics(lang: str) -> tuple[Topic, ...]:
    """Parse `text/<lang>.txt`: `## ` lines open a topic, `#` lines are comments."""
    text = resources.files(__package__).joinpath("text", f"{lang}.txt").read_text(encoding="utf-8")
    found: list[Topic] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("## "):
            found.append(Topic(line[3:], ()))
        elif line and not line.startswith("#"):
            last = found[-1]
            found[-1] = Topic(last.heading, last.sentences + (line,))
    return tuple(found)


@functools.cache
def _ui_strings() -> dict[str, dict]:
    return json.loads(resources.files(__package__).joinpath("text", "ui.json").read_text(encoding="utf-8"))


def ui(lang: str) -> dict:
    """Boilerplate strings (menus, cookie banners, comments, spam keywords) in `lang`."""
    return _ui_strings()[lang]


def all_sentences(lang: str) -> list[str]:
    return [sentence for topic in topics(lang) for sentence in topic.sentences]


def make_article(lang: str, rng: random.Random, *, num_topics: tuple[int, int] = (2, 4)) -> Article:
    """An article of 2-4 sections, each 1-3 paragraphs of 3-5 sentences from one topic."""
    chosen = rng.sample(topics(lang), rng.randint(*num_topics))
    sections = []
    for topic in chosen:
        pool = list(topic.sentences)
        rng.shuffle(pool)
        paras = []
        for _ in range(rng.randint(1, 3)):
            take = rng.randint(3, 5)
            if len(pool) < take:
                break
            paras.append(tuple(pool[:take]))
            pool = pool[take:]
        sections.append((topic.heading, tuple(paras)))
    pattern = rng.choice(ui(lang)["title_patterns"])
    title = pattern.format(h=chosen[0].heading, n=rng.randint(3, 12))
    return Article(lang, title, tuple(sections), rng.getrandbits(32))


class DistinctArticles:
    """Makes articles whose sentence sets overlap every earlier one's by at most `max_jaccard`.

    With 12-14 topics of 8-11 sentences per language, unconstrained draws put a few pairs of
    short same-language articles above 0.8 word 5-gram Jaccard, where dedup would rightly
    merge them although nothing planted them. Sentence-set Jaccard tracks 5-gram Jaccard
    closely, since shingles rarely cross a sentence boundary intact: at the default 0.5 no
    two articles of a 2,000-page sample exceed about 0.5 in 5-gram Jaccard. Redrawing (up to
    `attempts` times, then taking the least overlapping draw) keeps them apart. Sentence
    sets are bit masks over the language's sentences, so comparing with 800 earlier articles
    costs well under a millisecond.
    """

    def __init__(self, *, max_jaccard: float = 0.5, attempts: int = 40):
        self.max_jaccard = max_jaccard
        self.attempts = attempts
        self._seen: dict[str, list[int]] = {}

    def make(self, lang: str, rng: random.Random) -> Article:
        seen = self._seen.setdefault(lang, [])
        bit = _sentence_bits(lang)
        best, best_mask, best_overlap = None, 0, 2.0
        for _ in range(self.attempts):
            article = make_article(lang, rng)
            mask = sum(bit[s] for _, paras in article.sections for para in paras for s in para)
            overlap = max(((mask & other).bit_count() / (mask | other).bit_count() for other in seen), default=0.0)
            if overlap < best_overlap:
                best, best_mask, best_overlap = article, mask, overlap
            if overlap <= self.max_jaccard:
                break
        seen.append(best_mask)
        return best


@functools.cache
def _sentence_bits(lang: str) -> dict[str, int]:
    return {sentence: 1 << index for index, sentence in enumerate(dict.fromkeys(all_sentences(lang)))}
