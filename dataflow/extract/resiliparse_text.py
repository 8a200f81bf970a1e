"""Main-text extraction with Resiliparse (Bevendorff et al. 2018; `extractor: resiliparse`).

DCLM chose Resiliparse over trafilatura for its pipeline (Li et al. 2024, section 3.1 and
appendix D: similar downstream scores, several times cheaper). `extract_plain_text` with
`main_content=True` drops elements its heuristics take for navigation, headers, footers and
sidebars; comments are excluded as in our trafilatura settings, and image alt texts too
(they are captions and icons, not prose). The output keeps paragraphs as lines, so the
line-based filters (C4, FineWeb) see the same structure as with trafilatura.

Precision, recall and speed against trafilatura on the gold texts of ../shared/data/html:
`python -m bench.extractors` (README "extract").
"""

from __future__ import annotations

#: resiliparse.extract.html2text.extract_plain_text keyword arguments: the one place they live.
RESILIPARSE_SETTINGS = {
    "main_content": True,
    "preserve_formatting": True,
    "list_bullets": True,
    "alt_texts": False,
    "links": False,
    "form_fields": False,
    "noscript": False,
    "comments": False,
}


def extract_main_text(html: str) -> str | None:
    """The page's main text, exactly as `extract_plain_text(HTMLTree.parse(html), **RESILIPARSE_SETTINGS)`,
    blank lines removed; None when nothing is left."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    text = extract_plain_text(HTMLTree.parse(html), **RESILIPARSE_SETTINGS)
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line) or None
