"""SEO spam pages, in the three shapes quality filters are written against.

- `keyword_stuffing`: paragraphs where most words are the same few keywords, a stuffed
  `<title>` and `<meta keywords>`, and a block of keywords hidden with CSS;
- `repeated_lines`: one sales line repeated dozens of times (Gopher's duplicate-line rules);
- `link_farm`: hundreds of keyword links to other spam hosts, with almost no prose.
"""

from __future__ import annotations

import random
from html import escape

from dataflow.samples import prose
from dataflow.samples.sites import SPAM_DOMAINS
from dataflow.samples.urls import slugify

VARIANTS = ("keyword_stuffing", "repeated_lines", "link_farm")


def spam_html(variant: str, lang: str, charset_meta: str, rng: random.Random) -> tuple[str, str]:
    """(title, html) of a spam page."""
    keywords = prose.ui(lang)["spam"]
    title = " | ".join(rng.sample(keywords, 3)).title()
    if variant == "keyword_stuffing":
        body = _stuffed_paragraphs(lang, keywords, rng)
    elif variant == "repeated_lines":
        line = escape(" ".join(rng.sample(keywords, 4)) + "!!!")
        body = "<br>\n".join([line] * rng.randint(30, 80))
    elif variant == "link_farm":
        body = " | ".join(_link(keywords, rng) for _ in range(rng.randint(200, 400)))
    else:
        raise ValueError(f"unknown spam variant {variant!r}; known: {', '.join(VARIANTS)}")
    hidden = escape(" ".join(rng.choices(keywords, k=120)))
    return title, (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>{charset_meta}<title>{escape(title)}</title>\n'
            f'<meta name="keywords" content="{escape(", ".join(keywords))}"></head>\n'
            f'<body><h1>{escape(title)}</h1>\n<div class="content">{body}</div>\n'
            f'<div style="display:none">{hidden}</div>\n</body>\n</html>\n')


def _stuffed_paragraphs(lang: str, keywords: list[str], rng: random.Random) -> str:
    filler = prose.join_sentences(lang, rng.sample(prose.all_sentences(lang), 3))
    words = filler.split() if lang not in prose.UNSPACED else list(filler)
    paragraphs = []
    for _ in range(rng.randint(4, 10)):
        tokens = [rng.choice(keywords) if rng.random() < 0.7 else rng.choice(words) for _ in range(rng.randint(40, 90))]
        paragraphs.append(f"<p>{escape(prose.join_sentences(lang, tokens))}.</p>")
    return "\n".join(paragraphs)


def _link(keywords: list[str], rng: random.Random) -> str:
    anchor = " ".join(rng.sample(keywords, 2))
    href = f"https://{rng.choice(SPAM_DOMAINS)}/{slugify(anchor) or rng.randint(1, 10**6)}-{rng.randint(1, 9999)}.html"
    return f'<a href="{href}">{escape(anchor)}</a>'


def spam_url(lang: str, serial: int, rng: random.Random) -> str:
    keywords = prose.ui(lang)["spam"]
    slug = slugify(" ".join(rng.sample(keywords, 3))) or f"p{serial}"
    return f"https://{rng.choice(SPAM_DOMAINS)}/{slug}-{serial}.html"
