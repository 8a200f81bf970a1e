"""Whole-page HTML for the five site layouts found across a crawl.

- `news`: HTML5 with `<main>`/`<article>`, a breadcrumb, share buttons, related links;
- `blog`: WordPress-style `<div>` soup, a comment list and a reply form;
- `forum`: a phpBB-style table where the text is the first post and comments are replies;
- `docs`: a wiki page with a table of contents and an infobox;
- `legacy`: 2000s markup (`<center>`, `<font>`, layout tables, no `<html lang>`).

Each takes the same `Body`, so any text can appear in any layout, and the near-duplicate
pages that differ only in boilerplate are the same body in two layouts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from html import escape

from dataflow.samples import boilerplate as bp
from dataflow.samples import prose
from dataflow.samples.sites import Site
from dataflow.samples.urls import page_url


@dataclass
class Body:
    """What a page says, independent of layout: its heading, HTML blocks and reader comments."""

    title: str
    blocks: list[str]
    comments: list[tuple[str, str]] = field(default_factory=list)
    author: str = ""
    date: tuple[int, int, int] = (2024, 5, 17)


def render(site: Site, body: Body, charset_meta: str, rng: random.Random) -> str:
    """The full document for `body` in the site's layout."""
    layout = _LAYOUTS[site.layout]
    html_head = bp.head(site, body.title, charset_meta, rng)
    lang = "" if site.layout == "legacy" else f' lang="{site.lang}"'
    return f"<!DOCTYPE html>\n<html{lang}>\n{html_head}\n{layout(site, body, rng)}\n</html>\n"


def _byline(site: Site, body: Body) -> str:
    ui = prose.ui(site.lang)
    year, month, day = body.date
    when = bp.date_text(site.lang, year, month, day)
    who = f"{escape(ui['posted_by'])} {escape(body.author)} &middot; " if body.author else ""
    return f'<p class="byline">{who}<time datetime="{year}-{month:02d}-{day:02d}">{escape(when)}</time></p>'


def _news(site: Site, body: Body, rng: random.Random) -> str:
    ui = prose.ui(site.lang)
    banner = bp.cookie_banner(site) if rng.random() < 0.6 else ""
    comments = "".join(f'<div class="comment"><b>{escape(who)}</b><p>{escape(text)}</p></div>'
                       for who, text in body.comments)
    comment_box = (f'<section id="comments"><h2>{escape(ui["comments"])} ({len(body.comments)})</h2>{comments}'
                   f'<a href="{page_url(site, "/login")}">{escape(ui["login"])}</a></section>') if body.comments else ""
    return (f'<body class="article">\n{banner}\n{bp.masthead(site, rng)}\n'
            f'<div class="breadcrumb"><a href="{page_url(site, "/")}">{escape(ui["nav"][0])}</a> &raquo; '
            f'<a href="{page_url(site, "/local/")}">{escape(ui["nav"][2])}</a></div>\n'
            f'<main id="main"><article class="story"><h1>{escape(body.title)}</h1>{_byline(site, body)}'
            f'{bp.share_bar(site)}\n<div class="story-body">\n' + "\n".join(body.blocks) + "\n</div></article>\n"
            f'<section class="related"><h2>{escape(ui["related"])}</h2>'
            f'{bp.link_list(bp.headline_links(site, rng, 4))}</section>\n{comment_box}</main>\n'
            f"{bp.sidebar(site, rng)}\n{bp.footer(site, body.date[0])}\n</body>")


def _blog(site: Site, body: Body, rng: random.Random) -> str:
    ui = prose.ui(site.lang)
    comments = "".join(f'<li class="comment"><div class="comment-author">{escape(who)}</div>'
                       f'<div class="comment-body"><p>{escape(text)}</p></div>'
                       f'<a class="reply">{escape(ui["reply"])}</a></li>' for who, text in body.comments)
    return (f'<body class="single-post"><div id="wrapper">\n<div id="header"><h1 class="site-title">'
            f'<a href="{page_url(site, "/")}">{escape(site.name)}</a></h1>{bp.nav(site)}</div>\n'
            f'<div id="content"><div class="post"><h2 class="post-title">{escape(body.title)}</h2>'
            f'<div class="post-meta">{_byline(site, body)}</div>\n<div class="entry">\n' + "\n".join(body.blocks)
            + f'\n</div><div class="post-tags">{escape(ui["tags"])}: '
            + ", ".join(f'<a href="{href}">{escape(text[:20])}</a>' for text, href in bp.headline_links(site, rng, 3))
            + f'</div></div>\n<div id="comments"><h3>{len(body.comments)} {escape(ui["comments"])}</h3>'
            f'<ol class="commentlist">{comments}</ol><form id="commentform"><textarea></textarea>'
            f'<button>{escape(ui["reply"])}</button></form></div></div>\n'
            f'<div id="sidebar">{bp.sidebar(site, rng)}</div>\n'
            f'<div id="footer">{bp.footer(site, body.date[0])}</div>\n'
            f"</div>{bp.cookie_banner(site) if rng.random() < 0.4 else ''}</body>")


def _forum(site: Site, body: Body, rng: random.Random) -> str:
    ui = prose.ui(site.lang)
    author = body.author or rng.choice(ui["names"])

    def post(who: str, html: str) -> str:
        # a poster's count comes from the name, so a copy of the thread extracts to the same text
        count = sum(map(ord, who)) * 7 % 4000
        return (f'<tr><td class="row1" valign="top" width="150"><b class="postauthor">{escape(who)}</b><br>'
                f'<span class="postdetails">Posts: {count}</span></td>'
                f'<td class="row1"><div class="postbody">{html}</div></td></tr>')

    replies = "".join(post(who, escape(text)) for who, text in body.comments)
    return (f'<body>{bp.masthead(site, rng)}\n<h1 class="topictitle">{escape(body.title)}</h1>\n'
            '<table class="forumline" width="100%" cellspacing="1" cellpadding="3">'
            "<tr><th>Author</th><th>Message</th></tr>\n"
            + post(author, "\n".join(body.blocks)) + f"\n{replies}</table>\n"
            f'<div class="jumpbox">{bp.link_list(bp.headline_links(site, rng, 6))}</div>\n'
            f"{bp.footer(site, body.date[0])}</body>")


def _docs(site: Site, body: Body, rng: random.Random) -> str:
    toc = "".join(f"<li>{block.removeprefix('<h2>').removesuffix('</h2>')}</li>"
                  for block in body.blocks if block.startswith("<h2>"))
    return (f'<body class="mediawiki"><div id="mw-head">{bp.nav(site)}</div>\n'
            f'<main id="content"><h1 id="firstHeading">{escape(body.title)}</h1>'
            f'<div id="siteSub">{escape(site.name)}</div>\n'
            + (f'<div id="toc"><ul>{toc}</ul></div>\n' if toc else "") + "\n".join(body.blocks)
            + f'\n<div class="printfooter">{page_url(site, "/wiki/")}</div></main>\n'
            f'<div id="mw-panel">{bp.sidebar(site, rng)}</div>\n{bp.footer(site, body.date[0])}</body>')


def _legacy(site: Site, body: Body, rng: random.Random) -> str:
    links = "<br>".join(f'<a href="{href}"><font size="1">{escape(text)}</font></a>'
                        for text, href in bp.headline_links(site, rng, 8))
    return (f'<body bgcolor="#FFFFFF" leftmargin="0" topmargin="0"><center>\n'
            f'<table width="760" border="0" cellpadding="0" cellspacing="0"><tr><td colspan="2" bgcolor="#336699">'
            f'<font color="#FFFFFF" size="5"><b>{escape(site.name)}</b></font><br>{bp.nav(site)}</td></tr>\n'
            f'<tr><td width="160" valign="top" bgcolor="#EEEEEE">{links}</td>\n<td valign="top">'
            f'<font face="Verdana, Arial" size="2"><b><font size="4">{escape(body.title)}</font></b><br><br>\n'
            + "\n".join(body.blocks) + "\n</font></td></tr>\n"
            f'<tr><td colspan="2" align="center">{bp.footer(site, body.date[0])}'
            f'<img src="{page_url(site, "/cgi-bin/counter.gif")}" width="88" height="31"></td></tr></table>'
            "</center></body>")


_LAYOUTS = {"news": _news, "blog": _blog, "forum": _forum, "docs": _docs, "legacy": _legacy}
