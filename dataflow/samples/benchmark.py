"""The sample benchmark and the pages that leak it, for testing decontamination.

`sample_benchmark.jsonl` holds 30 items written for this project: 20 grade-school word
problems in the GSM8K format (`question`, and an `answer` with worked steps ending in
`#### N`) and 10 trivia questions (`question`, `answer`). The decontamination stage loads
it like any benchmark file (fields `question,answer`). Only `LEAKED` of them are ever planted
in pages, so a test can check both that leaked items are found and that the others are not.

Planted text is changed the way copies on the web change: letter case, doubled spaces and
line breaks, dropped or swapped punctuation. Word order and words are kept, so a 13-gram
index over normalised text must still find every planted item.
"""

from __future__ import annotations

import functools
import json
import random
import re
from html import escape
from importlib import resources
from pathlib import Path

#: Items planted somewhere in a sample (the rest must never be reported as leaked).
NUM_LEAKED = 20
PERTURBATIONS = ("upper", "lower", "whitespace", "linebreaks", "punctuation")


def benchmark_path() -> Path:
    """The JSONL file, for a user or test that wants to point the decontamination stage at it."""
    return Path(str(resources.files(__package__).joinpath("sample_benchmark.jsonl")))


@functools.cache
def items() -> tuple[dict, ...]:
    return tuple(json.loads(line) for line in benchmark_path().read_text(encoding="utf-8").splitlines())


def leaked_ids(seed: int) -> list[str]:
    """The item ids a sample with this seed plants, in id order."""
    ids = [item["id"] for item in items()]
    return sorted(random.Random(f"{seed}/leaked").sample(ids, NUM_LEAKED))


def perturb(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """`text` with one to three surface changes; returns the text and the change names."""
    changes = sorted(rng.sample(PERTURBATIONS, rng.randint(1, 3)))
    if "upper" in changes and "lower" in changes:
        changes.remove("lower")
    for change in changes:
        if change == "upper":
            text = text.upper()
        elif change == "lower":
            text = text.lower()
        elif change == "whitespace":
            text = re.sub(r" ", lambda _: rng.choice((" ", " ", "  ", " \t")), text)
        elif change == "linebreaks":
            text = re.sub(r"(?<=[.?]) ", "\n", text)
        elif change == "punctuation":
            text = text.replace(",", "").replace("?", ".").replace("$", "")
    return text, changes


def planted_block(item: dict, intro: str, rng: random.Random) -> tuple[str, list[str]]:
    """An HTML paragraph quoting `item` (question, and the answer on most pages) under `intro`."""
    passage = item["question"]
    if rng.random() < 0.7:
        passage += " " + item["answer"].replace("\n#### ", " Answer: ")
    passage, changes = perturb(passage, rng)
    return f"<p>{escape(intro)}</p>\n<blockquote><p>{escape(passage)}</p></blockquote>", changes
