"""How many pages of each kind a sample holds, and in which languages.

Shares are loosely those of a Common Crawl segment seen by FineWeb-style pipelines: about
two thirds of HTML responses are article-like text, a tenth are link lists and home pages,
and spam, duplicates and junk make up most of the rest. Every kind, variant, language and
site gets at least one page whatever `num_pages` is, so a small sample still exercises every
case; that is what sets `MIN_PAGES`.
"""

from __future__ import annotations

import random

from dataflow.samples.degenerate import VARIANTS as DEGENERATE_VARIANTS
from dataflow.samples.payloads import TYPES as NON_HTML_TYPES
from dataflow.samples.prose import LANGUAGES
from dataflow.samples.sites import SITES, Site, sites_for

#: Share of HTML pages per kind; `article` takes the remainder (about 0.67).
KIND_SHARES = {
    "boilerplate": 0.10,
    "spam": 0.06,
    "near_duplicate": 0.06,
    "exact_duplicate": 0.05,
    "benchmark": 0.03,
    "http_error": 0.015,
    "degenerate": 0.01,
}
#: Floors that cover every variant of a kind (e.g. the five degenerate pages, 404 and 500).
_MIN_PER_KIND = {"degenerate": len(DEGENERATE_VARIANTS), "http_error": 2}
#: English dominates Common Crawl; the other languages share the rest evenly.
LANGUAGE_SHARES = {lang: (0.55 if lang == "en" else 0.45 / (len(LANGUAGES) - 1)) for lang in LANGUAGES}
#: Below this, one article per site plus the floors would crowd out the articles.
MIN_PAGES = 100


def kind_counts(num_pages: int) -> dict[str, int]:
    """HTML pages per kind, summing to `num_pages` (one of them the oversized page)."""
    counts = {kind: max(_MIN_PER_KIND.get(kind, 2), round(share * num_pages)) for kind, share in KIND_SHARES.items()}
    counts["oversize"] = 1
    counts["article"] = num_pages - sum(counts.values())
    return counts


def extra_counts(num_pages: int) -> dict[str, int]:
    """Captures that are not HTML pages: non-HTML types, redirects, revisits, pages served untyped."""
    per_type = max(1, num_pages // 500)
    counts = {f"non_html:{kind}": per_type for kind in NON_HTML_TYPES}
    counts["redirect"] = per_type
    counts["revisit"] = max(2, num_pages // 1000)  # both revisit profiles
    counts["missing_content_type"] = max(2, num_pages // 400)
    return counts


def article_sites(count: int, rng: random.Random) -> list[Site]:
    """Sites for `count` articles: each site once, then languages by `LANGUAGE_SHARES`."""
    chosen = list(SITES)
    langs = rng.choices(list(LANGUAGE_SHARES), weights=list(LANGUAGE_SHARES.values()), k=count - len(chosen))
    chosen += [rng.choice(sites_for(lang)) for lang in langs]
    rng.shuffle(chosen)
    return chosen


def random_site(rng: random.Random) -> Site:
    lang = rng.choices(list(LANGUAGE_SHARES), weights=list(LANGUAGE_SHARES.values()))[0]
    return rng.choice(sites_for(lang))


def spread(count: int, variants: tuple[str, ...]) -> list[str]:
    """`count` variant names, cycling so each appears once before any appears twice."""
    return [variants[i % len(variants)] for i in range(count)]

