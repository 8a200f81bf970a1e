"""Every capture of a sample, built kind by kind from a seed, then shuffled into crawl order.

Each page draws from its own generator, seeded with the sample seed, its kind and its index,
so one page rarely depends on how many random numbers another consumed (only an article
that repeats an earlier one too closely is redrawn, see `prose.DistinctArticles`).
Duplicates are built from the articles they copy, and the manifest row of each capture
records what it is: the ground truth later stages are tested against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from dataflow.samples import benchmark, charsets, duplicates, pages, plan, prose, spam
from dataflow.samples.degenerate import VARIANTS as DEGENERATE_VARIANTS
from dataflow.samples.degenerate import degenerate_html
from dataflow.samples.payloads import TYPES as NON_HTML_TYPES
from dataflow.samples.payloads import payload
from dataflow.samples.sites import SITES, Site, sites_for
from dataflow.samples.urls import article_url, page_url


@dataclass
class Capture:
    """One fetched URL: what the server sent, and what the manifest says it is."""

    url: str
    kind: str
    body: bytes
    server: str
    status: int = 200
    content_type: str | None = "text/html"
    """The HTTP Content-Type header; None when the server sent none."""
    language: str | None = None
    encoding: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Further response headers, such as a redirect's Location."""
    facts: dict = field(default_factory=dict)
    """Kind-specific manifest fields: title, variant, family, duplicate_of, edits, ..."""
    revisit_profile: str | None = None
    refers_to: Capture | None = None

    def manifest_row(self) -> dict:
        return {"url": self.url, "kind": self.kind, "status": self.status, "content_type": self.content_type,
                "language": self.language, "encoding": self.encoding, **self.facts}


@dataclass
class _Original:
    site: Site
    article: prose.Article
    capture: Capture


def build_captures(num_pages: int, seed: int) -> list[Capture]:
    """All captures of a sample with `num_pages` HTML pages, in crawl order."""
    counts, extras = plan.kind_counts(num_pages), plan.extra_counts(num_pages)
    rng = random.Random(f"{seed}/plan")
    maker = prose.DistinctArticles()
    originals = _articles(counts["article"], seed, rng, maker)
    captures = [original.capture for original in originals]
    captures += _exact_duplicates(counts["exact_duplicate"], originals, rng)
    captures += _near_duplicates(counts["near_duplicate"], originals, seed, rng)
    _drop_content_type(extras["missing_content_type"], originals, rng)
    captures += _listings(counts["boilerplate"], seed, rng)
    captures += _spam(counts["spam"], seed)
    captures += _degenerate(counts["degenerate"], seed)
    captures += _benchmark(counts["benchmark"], seed, maker)
    captures += _errors(counts["http_error"], seed, rng)
    captures.append(_oversize(seed))
    captures += _non_html(extras, seed, rng)
    captures += _redirects(extras["redirect"], originals, rng)
    captures += _revisits(extras["revisit"], originals, rng)
    rng.shuffle(captures)
    return captures


def _page_rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}/{kind}/{index}")


def _html_capture(site: Site, url: str, kind: str, html: str, title: str, **facts) -> Capture:
    return Capture(url, kind, charsets.encode(site, html), site.server, content_type=charsets.content_type(site),
                   language=site.lang, encoding=site.encoding,
                   facts={"title": title, "charset_declared": site.charset_style, **facts})


def _articles(count: int, seed: int, rng: random.Random, maker: prose.DistinctArticles) -> list[_Original]:
    originals = []
    for index, site in enumerate(plan.article_sites(count, rng)):
        page_rng = _page_rng(seed, "article", index)
        article = maker.make(site.lang, page_rng)
        url = article_url(site, article.title, 10_000 + index, page_rng)
        html = pages.article_html(site, article, page_rng)
        originals.append(_Original(site, article, _html_capture(site, url, "article", html, article.title)))
    return originals


def _families(originals: list[_Original], total: int, rng: random.Random, *, prefer=lambda original: True):
    """Yield (original, copies) until `total` copies are handed out; each original heads one family.

    Originals that `prefer` accepts are used first; there are always enough originals, since
    articles outnumber duplicates several times over.
    """
    free = [o for o in originals if "family" not in o.capture.facts]
    rng.shuffle(free)
    free.sort(key=prefer)  # stable: preferred ones (True) last, where pop() takes them
    while total > 0:
        copies = min(total, rng.randint(1, 3))
        total -= copies
        yield free.pop(), copies


def _sentences(article: prose.Article) -> int:
    return sum(len(para) for _, paras in article.sections for para in paras)


def _exact_duplicates(total: int, originals: list[_Original], rng: random.Random) -> list[Capture]:
    copies = []
    for number, (original, count) in enumerate(_families(originals, total, rng)):
        source = original.capture
        source.facts["family"] = f"exact-{number:03d}"
        for variant in rng.sample(duplicates.COPY_VARIANTS, count):
            url = duplicates.copy_url(source.url, variant)
            copies.append(Capture(url, "exact_duplicate", source.body, source.server, content_type=source.content_type,
                                  language=source.language, encoding=source.encoding,
                                  facts={**source.facts, "duplicate_of": source.url, "copy_variant": variant}))
    return copies


#: Layouts whose extracted text is the article alone. Forum replies and legacy sidebars
#: leak into trafilatura's output and would push a copy below the dedup threshold; so would
#: a move between layouts (docs pages add an infobox, headings come and go), which is why a
#: copy moves only to a site with the same layout, as syndicated copies on one CMS do.
_CLEAN_LAYOUTS = ("news", "blog", "docs")


def _near_duplicates(total: int, originals: list[_Original], seed: int, rng: random.Random) -> list[Capture]:
    """Edited copies of long articles (20+ sentences) on clean layouts, most on another site."""
    copies = []
    families = _families(originals, total, rng,
                         prefer=lambda o: _sentences(o.article) >= 20 and o.site.layout in _CLEAN_LAYOUTS)
    for number, (original, count) in enumerate(families):
        source = original.capture
        source.facts["family"] = family = f"near-{number:03d}"
        for copy in range(count):
            page_rng = _page_rng(seed, f"near/{number}", copy)
            edited, edits = duplicates.near_duplicate(original.article, page_rng)
            others = [site for site in sites_for(original.site.lang)
                      if site != original.site and site.layout == original.site.layout]
            site = original.site
            if others and page_rng.random() < 0.7:
                site, edits = page_rng.choice(others), edits + ["other_site"]
            url = article_url(site, edited.title, 60_000 + 10 * number + copy, page_rng)
            html = pages.article_html(site, edited, page_rng)
            copies.append(_html_capture(site, url, "near_duplicate", html, edited.title, family=family,
                                        duplicate_of=source.url, edits=edits))
    return copies


def _drop_content_type(count: int, originals: list[_Original], rng: random.Random) -> None:
    """Serve some UTF-8 articles with no Content-Type header, as misconfigured servers do."""
    eligible = [o.capture for o in originals if o.site.encoding == "utf-8" and "family" not in o.capture.facts]
    for capture in rng.sample(eligible, count):
        capture.content_type = None


def _listings(count: int, seed: int, rng: random.Random) -> list[Capture]:
    captures, homes = [], set()
    for index, variant in enumerate(plan.spread(count, pages.LISTING_VARIANTS)):
        site = plan.random_site(rng)
        path = {"home": "/" if site.domain not in homes else f"/page/{index}/",
                "tag": f"/tag/{index}/", "archive": f"/archive/?page={index}"}[variant]
        homes.add(site.domain)
        title, html = pages.listing_html(site, variant, _page_rng(seed, "listing", index))
        captures.append(_html_capture(site, page_url(site, path), "boilerplate", html, title, variant=variant))
    return captures


def _spam(count: int, seed: int) -> list[Capture]:
    captures = []
    for index, variant in enumerate(plan.spread(count, spam.VARIANTS)):
        page_rng = _page_rng(seed, "spam", index)
        lang = "en" if page_rng.random() < 0.7 else page_rng.choice(prose.LANGUAGES[1:])
        url = spam.spam_url(lang, 20_000 + index, page_rng)
        site = Site(url.split("/")[2], lang, "spam", url.split("/")[2], "nginx", charset_style="meta")
        title, html = spam.spam_html(variant, lang, charsets.charset_meta(site), page_rng)
        captures.append(_html_capture(site, url, "spam", html, title, variant=variant))
    return captures


def _utf8_sites(lang: str | None = None) -> list[Site]:
    return [site for site in SITES if site.encoding == "utf-8" and lang in (None, site.lang)]


def _degenerate(count: int, seed: int) -> list[Capture]:
    captures = []
    for index, variant in enumerate(plan.spread(count, DEGENERATE_VARIANTS)):
        page_rng = _page_rng(seed, "degenerate", index)
        site = page_rng.choice(_utf8_sites())
        title = page_rng.choice(prose.topics(site.lang)).heading
        html = degenerate_html(variant, title, site.lang, charsets.charset_meta(site), page_rng)
        capture = _html_capture(site, page_url(site, f"/files/{30_000 + index}.html"), "degenerate", html, title,
                                variant=variant)
        capture.language = None  # the text is in no language
        captures.append(capture)
    return captures


def _benchmark(count: int, seed: int, maker: prose.DistinctArticles) -> list[Capture]:
    """English articles quoting leaked items; items are spread so each leaked one appears early."""
    leaked = benchmark.leaked_ids(seed)
    by_id = {item["id"]: item for item in benchmark.items()}
    intros = prose.ui("en")["benchmark_intros"]
    captures = []
    for index in range(count):
        page_rng = _page_rng(seed, "benchmark", index)
        site = page_rng.choice(sites_for("en"))
        ids = [leaked[(2 * index + k) % len(leaked)] for k in range(page_rng.randint(1, 2))]
        blocks, changes = [], []
        for item_id in ids:
            block, perturbations = benchmark.planted_block(by_id[item_id], page_rng.choice(intros), page_rng)
            blocks.append(block)
            changes.append(perturbations)
        article = maker.make("en", page_rng)
        html = pages.article_html(site, article, page_rng, planted=tuple(blocks))
        url = article_url(site, article.title, 40_000 + index, page_rng)
        captures.append(_html_capture(site, url, "benchmark", html, article.title, benchmark_items=ids,
                                      perturbations=changes))
    return captures


def _errors(count: int, seed: int, rng: random.Random) -> list[Capture]:
    captures = []
    for index, status in enumerate(plan.spread(count, (404, 500))):
        site = plan.random_site(rng)
        title, html = pages.error_html(site, status, _page_rng(seed, "error", index))
        capture = _html_capture(site, page_url(site, f"/old-page-{50_000 + index}.html"), "http_error", html, title)
        capture.status = status
        captures.append(capture)
    return captures


def _oversize(seed: int) -> Capture:
    site = next(site for site in _utf8_sites("en") if site.layout == "forum")
    title, html = pages.oversize_html(site, _page_rng(seed, "oversize", 0))
    return _html_capture(site, page_url(site, "/archive/print-all.html"), "oversize", html, title)


def _non_html(extras: dict[str, int], seed: int, rng: random.Random) -> list[Capture]:
    captures = []
    for kind, (content_type, path) in NON_HTML_TYPES.items():
        for index in range(extras[f"non_html:{kind}"]):
            site = plan.random_site(rng)
            body = payload(kind, _page_rng(seed, kind, index))
            captures.append(Capture(page_url(site, path.format(n=70_000 + index)), "non_html", body, site.server,
                                    content_type=content_type, facts={"variant": kind}))
    return captures


def _redirects(count: int, originals: list[_Original], rng: random.Random) -> list[Capture]:
    """Short links answered with 301 and an empty body."""
    captures = []
    for index, original in enumerate(rng.sample(originals, count)):
        target = original.capture.url
        url = page_url(original.site, f"/?p={80_000 + index}")
        captures.append(Capture(url, "redirect", b"", original.site.server, status=301, content_type=None,
                                headers=[("Location", target)], facts={"location": target}))
    return captures


def _revisits(count: int, originals: list[_Original], rng: random.Random) -> list[Capture]:
    """Re-fetches of articles whose payload had not changed since the previous crawl."""
    with_type = [o.capture for o in originals if o.capture.content_type is not None]
    captures = []
    for profile, source in zip(plan.spread(count, ("server-not-modified", "identical-payload-digest")),
                               rng.sample(with_type, count)):
        status = 304 if profile == "server-not-modified" else 200
        captures.append(Capture(source.url, "revisit", b"", source.server, status=status,
                                content_type=None if status == 304 else source.content_type,
                                facts={"duplicate_of": source.url, "revisit_profile": profile},
                                revisit_profile=profile, refers_to=source))
    return captures
