"""The boilerplate around a page's text: head, menus, cookie banners, sidebars, footers.

An extractor must drop all of it, and a quality filter must catch pages that are little
else (home pages, link lists). Pieces are drawn with the page's generator, so the same site
shows slightly different menus and sidebars from page to page, as real sites do. Markup is
ASCII with character references (`&copy;`, `&raquo;`) so that every piece encodes in every
legacy charset a site may use.
"""

from __future__ import annotations

import random
from html import escape

from dataflow.samples import prose
from dataflow.samples.sites import Site
from dataflow.samples.urls import page_url, section_links


def head(site: Site, title: str, charset_meta: str, rng: random.Random) -> str:
    """`<head>`; a charset declaration comes first so it falls inside the 1,024 bytes browsers prescan."""
    parts = ["<head>", charset_meta, f"<title>{escape(title)} | {escape(site.name)}</title>",
             '<meta name="viewport" content="width=device-width, initial-scale=1">']
    parts.append(f'<link rel="stylesheet" href="{page_url(site, "/static/site.css")}?v={rng.randint(1, 99)}">')
    if rng.random() < 0.6:
        parts.append(inline_style(rng))
    if rng.random() < 0.7:
        parts.append(analytics_script(rng))
    parts.append("</head>")
    return "\n".join(part for part in parts if part)


def inline_style(rng: random.Random) -> str:
    colour = f"#{rng.randrange(0x1000000):06x}"
    return (f"<style>body{{font-family:Georgia,serif;margin:0}}.nav a{{color:{colour};padding:0 .5em}}"
            f".cookie{{position:fixed;bottom:0;width:100%;background:#222;color:#fff}}</style>")


def analytics_script(rng: random.Random) -> str:
    return ("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
            f"gtag('js',new Date());gtag('config','G-{rng.randrange(16**8):08X}');</script>")


def nav(site: Site) -> str:
    labels = prose.ui(site.lang)["nav"]
    links = section_links(site, labels)
    items = "".join(f'<li><a href="{href}">{escape(label)}</a></li>' for label, href in zip(labels, links))
    return f'<nav class="nav"><ul>{items}</ul></nav>'


def masthead(site: Site, rng: random.Random) -> str:
    ui = prose.ui(site.lang)
    search = (f'<form action="{page_url(site, "/search")}"><input name="q" placeholder="{escape(ui["search"])}">'
              f'<button>{escape(ui["search"])}</button></form>')
    return (f'<header id="top"><a class="logo" href="{page_url(site, "/")}">{escape(site.name)}</a>'
            f"{search if rng.random() < 0.7 else ''}{nav(site)}</header>")


def cookie_banner(site: Site) -> str:
    ui = prose.ui(site.lang)
    return (f'<div class="cookie" id="cookie-consent"><p>{escape(ui["cookie"])}</p>'
            f'<button>{escape(ui["accept"])}</button> <a href="{page_url(site, "/cookies")}">'
            f'{escape(ui["settings"])}</a></div>')


def headline_links(site: Site, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(title, url) pairs that look like other articles of the site."""
    ui = prose.ui(site.lang)
    headings = [topic.heading for topic in prose.topics(site.lang)]
    titles = [rng.choice(ui["title_patterns"]).format(h=rng.choice(headings), n=rng.randint(3, 12))
              for _ in range(count)]
    # WordPress-style short links: short hrefs keep the sample small
    return [(title, page_url(site, f"/?p={rng.randint(1000, 99_999)}")) for title in titles]


def link_list(links: list[tuple[str, str]]) -> str:
    return "<ul>" + "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for text, href in links) + "</ul>"


def sidebar(site: Site, rng: random.Random) -> str:
    ui = prose.ui(site.lang)
    boxes = [f'<div class="widget"><h3>{escape(ui["latest"])}</h3>{link_list(headline_links(site, rng, 5))}</div>',
             f'<div class="widget"><h3>{escape(ui["popular"])}</h3>{link_list(headline_links(site, rng, 5))}</div>',
             f'<div class="widget newsletter"><p>{escape(ui["newsletter"])}</p><input type="email">'
             f'<button>{escape(ui["subscribe"])}</button></div>']
    rng.shuffle(boxes)
    return '<aside class="sidebar">' + "".join(boxes[: rng.randint(2, 3)]) + "</aside>"


def share_bar(site: Site) -> str:
    ui = prose.ui(site.lang)
    return (f'<div class="share"><span>{escape(ui["share"])}</span> <a href="#">Facebook</a> '
            '<a href="#">X</a> <a href="#">WhatsApp</a> <a href="#">E-mail</a></div>')


def footer(site: Site, year: int) -> str:
    ui = prose.ui(site.lang)
    links = list(zip(ui["footer"], section_links(site, ui["footer"])))
    return (f'<footer><div class="footer-links">{link_list(links)}</div>'
            f"<p>&copy; {year} {escape(site.name)}. {escape(ui['rights'])}</p></footer>")


def comments(lang: str, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(author, text) pairs: stock reader comments in the page's language."""
    ui = prose.ui(lang)
    return [(rng.choice(ui["names"]), rng.choice(ui["comment_lines"])) for _ in range(count)]


def date_text(lang: str, year: int, month: int, day: int) -> str:
    return prose.ui(lang)["date"].format(y=year, m=f"{month:02d}", d=f"{day:02d}")
