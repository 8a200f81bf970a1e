"""HTML for the page kinds that live on ordinary sites: articles, listings, errors, oversize.

An article keeps its text in `<p>` blocks under optional `<h2>` section headings; docs pages
add an infobox table, and some pages set one paragraph as a bulleted list, so extractors meet
tables and lists as well as prose. Listings ("boilerplate" pages: home pages, tag pages,
archives) are what a crawl holds in bulk and a quality filter must reject: short link texts
and teasers with no body.
"""

from __future__ import annotations

import random
from html import escape

from dataflow.samples import boilerplate as bp
from dataflow.samples import prose
from dataflow.samples.charsets import charset_meta
from dataflow.samples.layouts import Body, render
from dataflow.samples.sites import Site

LISTING_VARIANTS = ("home", "tag", "archive")
#: Size of the one oversized page: above the extractor's default 2 MiB `max_html_bytes`
#: cap (and the 1 MiB at which Common Crawl truncates), so the cap must reject it unread.
OVERSIZE_HTML_BYTES = 3 * 1024 * 1024


def article_html(site: Site, article: prose.Article, rng: random.Random, *, planted: tuple[str, ...] = ()) -> str:
    """The article as its site renders it, with `planted` HTML blocks inserted after the first paragraph."""
    style = random.Random(article.style_seed)
    blocks = article_blocks(site, article, style)
    for block in planted:
        blocks.insert(rng.randint(1, len(blocks)), block)
    commented = site.layout in ("news", "blog", "forum")
    comments = bp.comments(site.lang, style, style.randint(0, 6))
    body = Body(article.title, blocks, comments if commented else [],
                author=style.choice(prose.ui(site.lang)["names"]), date=_date(style))
    return render(site, body, charset_meta(site), rng)


def article_blocks(site: Site, article: prose.Article, style: random.Random) -> list[str]:
    """`<p>`, `<h2>` and `<ul>` blocks; `style` decides headings and the list, docs add an infobox."""
    blocks = []
    headings = site.layout == "docs" or style.random() < 0.5
    list_at = style.randrange(8) if style.random() < 0.3 else -1
    for number, (heading, paragraphs) in enumerate(article.sections):
        if number and headings:
            blocks.append(f"<h2>{escape(heading)}</h2>")
        for para in paragraphs:
            if len(blocks) == list_at:
                blocks.append("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in para) + "</ul>")
            else:
                blocks.append(f"<p>{escape(prose.join_sentences(site.lang, para))}</p>")
    if site.layout == "docs":
        blocks.insert(1, _infobox(site, style))
    return blocks


def _infobox(site: Site, rng: random.Random) -> str:
    date = bp.date_text(site.lang, *_date(rng))
    rows = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value.format(date=date))}</td></tr>"
                   for label, value in prose.ui(site.lang)["table"])
    return f'<table class="infobox">{rows}</table>'


def _date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28)


def listing_html(site: Site, variant: str, rng: random.Random) -> tuple[str, str]:
    """(title, html) of a home, tag or archive page: links and teasers, no article."""
    ui = prose.ui(site.lang)
    if variant == "home":
        title = f"{site.name} - {ui['home_title']}"
        sentences = prose.all_sentences(site.lang)
        blocks = [f'<div class="teaser"><h3><a href="{href}">{escape(text)}</a></h3>'
                  f"<p>{escape(rng.choice(sentences))}</p><a href=\"{href}\">{escape(ui['read_more'])}</a></div>"
                  for text, href in bp.headline_links(site, rng, rng.randint(12, 30))]
    elif variant == "tag":
        title = f"{ui['tags']}: {rng.choice(prose.topics(site.lang)).heading}"
        blocks = [bp.link_list(bp.headline_links(site, rng, rng.randint(40, 120)))]
    elif variant == "archive":
        title = f"{ui['archive']} {rng.randint(2010, 2024)}"
        blocks = [f"<h2>{month:02d}</h2>{bp.link_list(bp.headline_links(site, rng, rng.randint(3, 12)))}"
                  for month in range(1, 13)]
    else:
        raise ValueError(f"unknown listing variant {variant!r}; known: {', '.join(LISTING_VARIANTS)}")
    return title, render(site, Body(title, blocks, date=_date(rng)), charset_meta(site), rng)


def error_html(site: Site, status: int, rng: random.Random) -> tuple[str, str]:
    """(title, html) of the site's 404 or 500 page."""
    heading, message = prose.ui(site.lang)["not_found" if status == 404 else "server_error"]
    blocks = [f"<p>{escape(message)}</p>", bp.link_list(bp.headline_links(site, rng, 5))]
    return heading, render(site, Body(heading, blocks, date=_date(rng)), charset_meta(site), rng)


def oversize_html(site: Site, rng: random.Random) -> tuple[str, str]:
    """(title, html) of a forum's print-all archive page, just over `OVERSIZE_HTML_BYTES`."""
    title = f"{site.name} - {prose.ui(site.lang)['archive']}"
    blocks: list[str] = []
    size = 0
    while size < OVERSIZE_HTML_BYTES:
        article = prose.make_article(site.lang, rng)
        blocks.append(f"<h2>{escape(article.title)}</h2>")
        blocks.extend(f"<p>{escape(text)}</p>" for text in article.paragraphs)
        size += sum(len(block) for block in blocks[-len(article.paragraphs) - 1:])
    return title, render(site, Body(title, blocks, date=_date(rng)), charset_meta(site), rng)
