"""Degenerate pages: text an extractor happily returns but no model should train on.

One page of ten thousand slashes was enough to damage a large training run; these are that
page and its cousins, each aimed at one rule of the degenerate-text filter. The markup is a
bare page with a heading so that trafilatura extracts the junk (checked with 2.3.1):

- `slashes`: 10,000 `/` in one run (longest run of one character);
- `long_word`: one 50,000-letter "word" (longest word);
- `lorem_ipsum`: paragraphs of placeholder Latin (C4's "lorem ipsum" rule); the sentences
  vary because trafilatura drops repeated identical paragraphs;
- `replacement_chars`: mostly U+FFFD and C0 control characters (non-printable share);
- `one_symbol`: one symbol repeated thousands of times (single-symbol share).
"""

from __future__ import annotations

import random
from html import escape

VARIANTS = ("slashes", "long_word", "lorem_ipsum", "replacement_chars", "one_symbol")
_LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
          "et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi").split()
# C0 controls except NUL, tab, LF and CR: NUL truncates C strings in some parsers, and the
# other three are whitespace, not junk.
_CONTROLS = [chr(code) for code in range(1, 32) if code not in (9, 10, 13)] + ["\x7f"]


def degenerate_text(variant: str, rng: random.Random) -> list[str]:
    """The page's paragraphs for `variant`."""
    if variant == "slashes":
        return ["/" * 10_000]
    if variant == "long_word":
        return ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=50_000))]
    if variant == "lorem_ipsum":
        return ["Lorem ipsum dolor sit amet. " + " ".join(_lorem_sentence(rng) for _ in range(rng.randint(4, 8)))
                for _ in range(rng.randint(8, 20))]
    if variant == "replacement_chars":
        alphabet = ["\ufffd"] * 14 + _CONTROLS[:4] + ["a", "e", " "]
        return ["".join(rng.choices(alphabet, k=rng.randint(200, 600))) for _ in range(rng.randint(4, 10))]
    if variant == "one_symbol":
        symbol = rng.choice("*=#~+★•")
        return [(" " if rng.random() < 0.5 else "").join([symbol] * rng.randint(4000, 12000))]
    raise ValueError(f"unknown degenerate variant {variant!r}; known: {', '.join(VARIANTS)}")


def _lorem_sentence(rng: random.Random) -> str:
    words = rng.choices(_LOREM, k=rng.randint(6, 14))
    return " ".join(words).capitalize() + "."


def degenerate_html(variant: str, title: str, lang: str, charset_meta: str, rng: random.Random) -> str:
    paragraphs = "\n".join(f"<p>{escape(text)}</p>" for text in degenerate_text(variant, rng))
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>{charset_meta}<title>{escape(title)}</title></head>\n'
            f'<body><div id="content"><h1>{escape(title)}</h1>\n{paragraphs}\n</div></body>\n</html>\n')
