"""How a site states its character encoding: HTTP header, `<meta>`, both, neither, or wrongly.

The styles are described in `sites.py`. Encoding is strict: every string the generator puts
on a page must exist in the site's charset (tests/dataflow/test_sample_warcs.py checks the
prose files against every charset used), so the bytes decode back to the exact text under the
true encoding, which the manifest records.
"""

from __future__ import annotations

from dataflow.samples.sites import Site


def charset_meta(site: Site) -> str:
    """The in-document declaration the site's pages carry, or "" when they carry none."""
    if site.charset_style in ("meta", "header+meta"):
        return f'<meta charset="{site.encoding}">'
    if site.charset_style in ("http-equiv", "wrong-header"):
        return f'<meta http-equiv="Content-Type" content="text/html; charset={site.encoding}">'
    return ""


def content_type(site: Site) -> str:
    """The HTTP Content-Type header value the site's server sends for HTML."""
    if site.charset_style in ("header", "header+meta"):
        return f"text/html; charset={site.encoding}"
    if site.charset_style == "wrong-header":
        return "text/html; charset=UTF-8"  # the server's default, not the file's charset
    return "text/html"


def encode(site: Site, html: str) -> bytes:
    return html.encode(site.encoding)
