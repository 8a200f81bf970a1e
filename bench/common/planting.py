"""Benchmark passages planted into real pages, for decontamination tests and bench/decontaminate.py.

A passage is an excerpt of an item's longest field cut at unit boundaries (so its units are
exactly the item's), then disguised the way copied text is: case, whitespace, line breaks
and punctuation at word ends change; the words do not.
"""

from __future__ import annotations

import random
import re

from dataflow.decontaminate.benchmarks import BenchmarkItem
from dataflow.text import normalized_unit_spans


def excerpt(item: BenchmarkItem, rng: random.Random, min_units: int = 13, max_units: int = 40) -> str | None:
    """`min_units`-`max_units` consecutive units of the item's longest field, as written there;
    None when the field is shorter."""
    text = max(item.texts, key=len)
    units, starts, ends = normalized_unit_spans(text)
    if len(units) < min_units:
        return None
    size = rng.randint(min_units, min(max_units, len(units)))
    first = rng.randrange(len(units) - size + 1)
    return text[starts[first]:ends[first + size - 1]]


def perturb(text: str, rng: random.Random) -> str:
    """Change case, whitespace, line breaks and punctuation at word ends; never the words."""
    out = []
    for token in re.split(r"(\s+)", text):
        if token.isspace():
            out.append(rng.choice([" ", "  ", "\t", "\n", " \n ", "\r\n"]))
            continue
        roll = rng.random()
        token = token.upper() if roll < 0.2 else token.lower() if roll < 0.4 else token.title() if roll < 0.5 else token
        if rng.random() < 0.2:
            token = token.rstrip(".,;:!?\"')")
        if token and token[-1].isalnum() and rng.random() < 0.2:
            token += rng.choice([",", ";", "!", "...", " -", "?"])
        out.append(token)
    return "".join(out)


def plant(host: str, passage: str, rng: random.Random) -> tuple[str, int]:
    """`passage` on its own line at a line break of `host`; the text and where the passage starts."""
    cut = host.find("\n", rng.randrange(len(host)))
    cut = len(host) if cut < 0 else cut
    return f"{host[:cut]}\n{passage}\n{host[cut:]}", cut + 1
