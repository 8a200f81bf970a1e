"""URLs in the shape each kind of site uses, unique per page through a serial number."""

from __future__ import annotations

import random
import re
import unicodedata

from dataflow.samples.sites import Site

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(title: str) -> str:
    """ASCII slug of a Latin-script title; empty for scripts that do not fold to ASCII."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    return _NON_SLUG.sub("-", folded).strip("-")[:60]


def article_url(site: Site, title: str, serial: int, rng: random.Random) -> str:
    slug = slugify(title) or f"article-{serial}"
    year, month = 2015 + serial % 10, 1 + serial % 12
    paths = {
        "news": f"/{year}/{month:02d}/{slug}-{serial}/",
        "blog": f"/blog/{slug}-{serial}",
        "forum": f"/viewtopic.php?f={rng.randint(2, 40)}&t={serial}",
        "docs": f"/wiki/{slug.replace('-', '_').capitalize() or serial}_{serial}",
        "legacy": f"/articles/{serial}.html",
    }
    mobile = site.layout == "news" and serial % 17 == 0  # a few news pages come from the mobile host
    return f"{site.scheme}://{host(site, mobile=mobile)}{paths[site.layout]}"


def page_url(site: Site, path: str) -> str:
    return f"{site.scheme}://{host(site)}{path}"


def host(site: Site, *, mobile: bool = False) -> str:
    """Legacy and forum sites keep their old `www.` host."""
    if mobile:
        return f"m.{site.domain}"
    return f"www.{site.domain}" if site.layout in ("legacy", "forum") else site.domain


def section_links(site: Site, labels: list[str]) -> list[str]:
    """Stable links for menu and footer labels: the same on every page of a site, as on real sites."""
    return [page_url(site, f"/{slugify(label) or f'section-{number}'}/") for number, label in enumerate(labels, 1)]
