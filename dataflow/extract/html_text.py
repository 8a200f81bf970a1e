"""Main-text extraction with trafilatura, under a per-document CPU-time limit.

Settings follow FineWeb (datatrove's `Trafilatura(favour_precision=True)`): `favor_precision`
drops borderline blocks, which costs some recall but keeps menus and link lists out, and
comments are excluded. `extractor: trafilatura_fast` adds trafilatura's `fast` (no fallback
extractors), which datatrove's extractor leaves off. `deduplicate` stays off: trafilatura's deduplication is
an LRU cache shared across all documents of a process, so its output would depend on which pages a task
happened to see first, and the job would not be deterministic under repartitioning.
Near-duplicate removal is the dedup stage's job.

One pathological page must not stall a task: extraction runs under `signal.setitimer` with
ITIMER_PROF, which counts the CPU time of this process rather than wall time, so a loaded
machine does not change which pages time out. The HTML size cap is applied by the caller.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
import signal
import threading
from contextlib import contextmanager

log = logging.getLogger(__name__)

#: trafilatura.extract keyword arguments: the one place extraction settings live.
TRAFILATURA_SETTINGS = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "deduplicate": False,
    "output_format": "txt",
}
#: `extractor: trafilatura_fast`: the same without trafilatura's fallback extractors (its own
#: readability port and jusText, tried when the main pass finds little): figures in bench.extractors.
TRAFILATURA_FAST_SETTINGS = {**TRAFILATURA_SETTINGS, "fast": True}
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


class ExtractionTimeout(BaseException):
    """Extraction of one document used more CPU time than allowed.

    A BaseException, like KeyboardInterrupt, because trafilatura wraps parts of its work in
    `except Exception` and would otherwise swallow the timeout and carry on.
    """


def extract_main_text(html: str, settings: dict = TRAFILATURA_SETTINGS) -> str | None:
    """The page's main text, exactly as `trafilatura.extract(html, **settings)`."""
    import trafilatura  # heavy import (~0.5 s): paid by workers that extract, not by `import dataflow`

    return trafilatura.extract(html, **settings) or None


def extract_main_text_fast(html: str) -> str | None:
    """`extract_main_text` with TRAFILATURA_FAST_SETTINGS (no fallback extractors)."""
    return extract_main_text(html, TRAFILATURA_FAST_SETTINGS)


def html_title(html: str) -> str | None:
    """The `<title>` of a page, unescaped and with whitespace collapsed."""
    match = _TITLE.search(html, 0, 65536)
    if not match:
        return None
    title = " ".join(html_lib.unescape(match.group(1)).split())
    return title or None


@contextmanager
def cpu_time_limit(seconds: float):
    """Raise ExtractionTimeout in the body once it has used `seconds` of process CPU time.

    Signals only work in the main thread; elsewhere the body runs without a limit (logged once).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        if seconds > 0:
            _warn_no_limit()
        yield
        return

    def on_timeout(signum, frame):
        raise ExtractionTimeout

    previous = signal.signal(signal.SIGPROF, on_timeout)
    # Re-arms every 50 ms until cleared, in case a C extension delays the first delivery.
    signal.setitimer(signal.ITIMER_PROF, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


_warned = False


def _warn_no_limit() -> None:
    global _warned
    if not _warned:
        log.warning("extraction time limit disabled: not running in the main thread")
        _warned = True
