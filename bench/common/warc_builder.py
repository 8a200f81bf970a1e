"""Writing small real WARC files for tests (warcio, per-record gzip as Common Crawl does)."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@dataclass
class Page:
    url: str
    body: bytes
    content_type: str | None = "text/html"
    status: str = "200 OK"
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    warc_headers: dict[str, str] = field(default_factory=dict)


def write_warc(path: Path, pages: list[Page], *, with_requests: bool = False) -> Path:
    """A gzip-per-record WARC with a warcinfo record and one response (plus request) per page."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "dataflow-tests"}))
        for page in pages:
            headers = [(k, v) for k, v in [("Content-Type", page.content_type)] if v] + page.extra_headers
            http = StatusAndHeaders(page.status, headers, protocol="HTTP/1.1")
            if with_requests:
                request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
                writer.write_record(writer.create_warc_record(page.url, "request", http_headers=request))
            writer.write_record(writer.create_warc_record(page.url, "response", payload=io.BytesIO(page.body),
                                                          http_headers=http, warc_headers_dict=page.warc_headers))
    return path


def write_wet(path: Path, texts: dict[str, str]) -> Path:
    """A WET file as Common Crawl writes it: a warcinfo record and one `conversion` record (UTF-8 text) per URL."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "dataflow-tests"}))
        for url, text in texts.items():
            writer.write_record(writer.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode("utf-8")),
                                                          warc_headers_dict={"Content-Type": "text/plain"}))
    return path


def real_pages(shared_data: Path, count: int, *, step: int = 37) -> list[tuple[dict, bytes]]:
    """`count` real pages from ../shared/data/html spread over sources (every `step`-th page)."""
    rows = [json.loads(line) for line in open(shared_data / "html" / "manifest.jsonl", encoding="utf-8")]
    chosen = rows[::step][:count]
    return [(row, gzip.open(shared_data / "html" / row["file"]).read()) for row in chosen]
