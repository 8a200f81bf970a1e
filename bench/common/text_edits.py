"""Seeded edits that turn a document into a near duplicate, for dedup tests and benchmarks.

The edits web copies show: words swapped, inserted or deleted (light rewrites, ad slots),
boilerplate added (navigation, cookie and share banners), paragraphs reordered (template
changes) and truncation (paywalls, "read more"). Words are space-separated tokens, or single
characters for Chinese/Japanese/Thai text (`text.unspaced_share`), so CJK copies get
character-level edits. Every choice comes from the given `random.Random`: same seed, same copy.
"""

from __future__ import annotations

import random

from dataflow.text import unspaced_share

BOILERPLATE = (
    "Share this article on Facebook Twitter LinkedIn Email Print",
    "We use cookies to improve your experience. By continuing to browse you agree to our cookie policy.",
    "Subscribe to our newsletter and get the latest stories delivered to your inbox every morning.",
    "Home News Sports Business Opinion Culture Travel Contact About us Privacy policy Terms of use",
    "Copyright 2024 All rights reserved. Reproduction without permission is prohibited.",
)
FILLER = ("really", "also", "however", "new", "today", "very", "local", "official", "still", "more")


def _tokens(text: str) -> tuple[list[str], str]:
    if unspaced_share(text) > 0.5:
        return list(text), ""
    return text.split(" "), " "


def swap_words(text: str, rng: random.Random, share: float) -> str:
    """Swap `share` of the words with their right neighbour."""
    tokens, sep = _tokens(text)
    for _ in range(int(len(tokens) * share)):
        i = rng.randrange(max(len(tokens) - 1, 1))
        tokens[i:i + 2] = tokens[i:i + 2][::-1]
    return sep.join(tokens)


def insert_words(text: str, rng: random.Random, share: float) -> str:
    """Insert `share` x words filler words (characters of the text itself for CJK) at random places."""
    tokens, sep = _tokens(text)
    pool = FILLER if sep else tokens or ["的"]
    for _ in range(int(len(tokens) * share)):
        tokens.insert(rng.randrange(len(tokens) + 1), rng.choice(pool))
    return sep.join(tokens)


def delete_words(text: str, rng: random.Random, share: float) -> str:
    """Delete `share` of the words."""
    tokens, sep = _tokens(text)
    dropped = set(rng.sample(range(len(tokens)), int(len(tokens) * share)))
    return sep.join(token for i, token in enumerate(tokens) if i not in dropped)


def add_boilerplate(text: str, rng: random.Random, share: float) -> str:
    """Add boilerplate lines before and after the text, about `share` x its length in all."""
    target = len(text) * share
    head, tail = [], []
    while sum(map(len, head + tail)) < target:
        (head if rng.random() < 0.5 else tail).append(rng.choice(BOILERPLATE))
    return "\n".join([*head, text, *tail])


def reorder_paragraphs(text: str, rng: random.Random, share: float) -> str:
    """Move `share` of the paragraphs (lines; at least one) each to another place."""
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    for _ in range(max(int(len(lines) * share), 1)):
        source = rng.randrange(len(lines))
        target = rng.choice([i for i in range(len(lines)) if i != source])
        lines.insert(target, lines.pop(source))
    return "\n".join(lines)


def truncate(text: str, rng: random.Random, share: float) -> str:
    """Cut the last `share` of the text."""
    return text[:int(len(text) * (1 - share))]


EDITS = {edit.__name__: edit for edit in (swap_words, insert_words, delete_words, add_boilerplate,
                                         reorder_paragraphs, truncate)}


def near_duplicate(text: str, rng: random.Random, max_share: float = 0.1, num_edits: int = 2) -> tuple[str, list[str]]:
    """`text` after `num_edits` random edits of up to `max_share` each, and the edits' names."""
    names = rng.sample(sorted(EDITS), num_edits)
    for name in names:
        text = EDITS[name](text, rng, rng.uniform(0.01, max_share))
    return text, names
