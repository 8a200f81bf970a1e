"""Less work per page before trafilatura: the extract stage's cascade.

trafilatura is 95% of an extract task (README "extract"), so every page it never sees is time
saved. The cheap steps, in order, each counted in stats.json:

1. Header rejects (dataflow/extract/warc.py): a response whose status is not 200 or whose
   declared type (`WARC-Identified-Payload-Type`, else the HTTP Content-Type) is not HTML or
   vague never has its body read; it is rejected as `http_status` / `non_html` / `too_large`
   from the headers alone.
2. Payload-digest reuse: a page whose `WARC-Payload-Digest` was already extracted in the same
   task gets that result (the same bytes give the same text); counted as
   `payload_digest_reused` in stats.json's `extra.cascade`.
3. Language pre-filter, only when `keep_languages` is set and trafilatura extracts: lid.176 on
   the first KB of Resiliparse's main text (about 50x cheaper than trafilatura) rejects a page
   as `language_prefilter` when it is confidently another language (score at least
   `language_prefilter_min_score`). The margin keeps borderline pages for the full path, whose
   language ID decides as before; `python -m bench.cascade --language` measures how many pages
   the full path keeps that the pre-filter drops (target: under 0.5%).
4. Quality gate, only when the extract stage is given the filter's config (`quality_prefilter`)
   and trafilatura extracts: the filter's extractor-robust rules on the same Resiliparse text, in
   the language guessed from it, each loosened by a measured margin; a page failing one is
   rejected as `quality_prefilter:<rule>` (dataflow/extract/quality_gate.py; measured by
   `python -m bench.cascade --tune` and `--gate`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from dataflow.extract import langid, resiliparse_text
from dataflow.extract.charset import decode_html

if TYPE_CHECKING:
    from dataflow.extract.quality_gate import QualityGate

#: lid.176 is given this many characters of the cheap text: enough for a confident guess.
PREFILTER_CHARS = 1024
#: Results remembered per task for digest reuse; bounds the task's memory to this many texts.
MAX_REMEMBERED = 2048
#: reject_value on a kept row whose result came from an earlier record with the same payload.
REUSED = "payload_digest_reused"
#: Row fields an extraction fills, copied on reuse.
EXTRACTED_FIELDS = ("charset", "title", "text", "text_fixes")


class Cascade:
    """Per-task state of the cascade: the pre-filters' settings and the digest memory."""

    def __init__(self, keep_languages: list[str], min_score: float | None, extractor: str, lid_model_path: str,
                 gate: QualityGate | None = None):
        self.keep = frozenset(keep_languages)
        costly = extractor.startswith("trafilatura")  # the pre-filters only pay off before trafilatura
        self.min_score = min_score if self.keep and costly else None
        self.gate = gate if costly else None
        self.lid_model_path = lid_model_path
        self.done: OrderedDict[str, tuple[dict, str | None, str | None]] = OrderedDict()

    def extract(self, row: dict, payload: bytes, header_charset: str | None, digest: str | None,
                extract: Callable[[dict, str], tuple[str | None, str | None]]) -> tuple[str | None, str | None]:
        """Fill `row` (charset, title, text) and return its (reject_reason, reject_value): from the
        digest memory, from the pre-filters, or from `extract(row, html)`."""
        if digest and digest in self.done:
            fields, reason, value = self.done[digest]
            row.update(fields)
            return reason, (REUSED if reason is None else value)
        html, row["charset"] = decode_html(payload, header_charset)
        reason, value = self.prefiltered(html) or extract(row, html)
        if digest:
            self.done[digest] = ({name: row.get(name) for name in EXTRACTED_FIELDS}, reason, value)
            if len(self.done) > MAX_REMEMBERED:
                self.done.popitem(last=False)
        return reason, value

    def prefiltered(self, html: str) -> tuple[str, str] | None:
        """("language_prefilter", "lang:score") when the page is confidently not a kept language, else
        the quality gate's (reason, value); None when trafilatura must decide."""
        if self.min_score is None and self.gate is None:
            return None
        text = resiliparse_text.extract_main_text(html)
        if not text:
            return None
        language, score = langid.identify([text[:PREFILTER_CHARS]], self.lid_model_path)[0]
        if self.min_score is not None and language not in self.keep and score >= self.min_score:
            return "language_prefilter", f"{language}:{score:.3f}"
        return self.gate.check(text, language) if self.gate is not None else None
