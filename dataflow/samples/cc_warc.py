"""Writing captures as Common Crawl writes them: WARC/1.0, one gzip member per record.

A file opens with a `warcinfo` record; each capture is then a `request`, a `response` and a
`metadata` record (or a `request` and a `revisit`), with CC's header order, its
`WARC-Identified-Payload-Type`, sha1 base32 digests, and CC's habit of storing the body
decoded while keeping the server's encoding headers as `X-Crawler-Content-Encoding` and
`X-Crawler-Transfer-Encoding`. Compare `../shared/data/warc/whirlwind-python/whirlwind.warc.gz`,
a real CC-MAIN-2024-22 excerpt.

Bytes are reproducible: record ids and dates come from a generator seeded with the sample
seed and the file name, and warcio's zlib gzip members carry mtime 0.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dataflow.samples.captures import Capture

_REQUEST_HEADERS = (
    ("User-Agent", "CCBot/2.0 (https://commoncrawl.org/faq/)"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "br,gzip"),
)
_REASONS = {200: "OK", 301: "Moved Permanently", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}
_REVISIT_PROFILES = {
    "server-not-modified": "http://netpreserve.org/warc/1.0/revisit/server-not-modified",
    "identical-payload-digest": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
}
#: The CLD2 names CC's metadata records use.
_CLD2 = {"en": ("eng", "ENGLISH"), "de": ("deu", "GERMAN"), "fr": ("fra", "FRENCH"), "es": ("spa", "SPANISH"),
         "ru": ("rus", "RUSSIAN"), "zh": ("zho", "Chinese"), "ja": ("jpn", "Japanese")}
_H2_SERVERS = ("nginx", "cloudflare", "Tengine")  # HTTP/2 fetches: CC stores lower-case header names
_WARC_DATE = "%Y-%m-%dT%H:%M:%SZ"  # WARC/1.0 dates have whole seconds


def digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


class CrawlWarc:
    """One WARC file being written; call `write_warcinfo` once, then `write_capture` per capture."""

    def __init__(self, stream: BinaryIO, *, filename: str, seed: int, start: datetime):
        self._stream = stream
        self._writer = WARCWriter(stream, gzip=True, warc_version="1.0")
        self._rng = random.Random(f"{seed}/{filename}")
        self._filename = filename
        self._seed = seed
        self._clock = start
        self._warcinfo_id = ""

    def _record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self._rng.getrandbits(128), version=4)}>"

    def _tick(self) -> str:
        self._clock += timedelta(seconds=self._rng.randint(0, 6))
        return self._clock.strftime(_WARC_DATE)

    def write_warcinfo(self) -> None:
        self._warcinfo_id = self._record_id()
        fields = {
            "isPartOf": "dataflow-sample",
            "publisher": "dataflow (synthetic sample, not a real crawl)",
            "description": f"Pages written by `dataflow sample-warcs` (seed {self._seed}) from the project's own text",
            "operator": "dataflow",
            "software": "dataflow sample-warcs",
            "robots": "not applicable (nothing was fetched)",
            "format": "WARC File Format 1.0",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/",
        }
        payload = "".join(f"{key}: {value}\r\n" for key, value in fields.items()).encode()
        headers = {"WARC-Type": "warcinfo", "WARC-Date": self._tick(), "WARC-Record-ID": self._warcinfo_id,
                   "Content-Length": "0", "Content-Type": "application/warc-fields", "WARC-Filename": self._filename}
        self._write("warcinfo", "", headers, payload, content_type="application/warc-fields")

    def write_capture(self, capture: Capture) -> tuple[int, str, str]:
        """Write the capture's records; return the response (or revisit) offset, record id and date."""
        date = self._tick()
        ip = _ip_address(capture.url)
        request_id = self._write_request(capture.url, date, ip)
        offset = self._stream.tell()
        record_id = self._record_id()
        http = StatusAndHeaders(f"{capture.status} {_REASONS[capture.status]}", self._response_headers(capture, date),
                                protocol="HTTP/1.1")
        head = http.to_ascii_bytes()
        headers = {"WARC-Type": "response", "WARC-Date": date, "WARC-Record-ID": record_id, "Content-Length": "0",
                   "Content-Type": "application/http; msgtype=response", "WARC-Warcinfo-ID": self._warcinfo_id,
                   "WARC-Concurrent-To": request_id, "WARC-IP-Address": ip, "WARC-Target-URI": capture.url}
        if capture.revisit_profile:
            headers["WARC-Type"] = "revisit"
            headers["WARC-Profile"] = _REVISIT_PROFILES[capture.revisit_profile]
            headers["WARC-Refers-To-Target-URI"] = capture.refers_to.url
            previous = datetime.strptime(date, _WARC_DATE) - timedelta(days=self._rng.randint(25, 40))
            headers["WARC-Refers-To-Date"] = previous.strftime(_WARC_DATE)  # the previous crawl's capture
            headers["WARC-Payload-Digest"] = digest(capture.refers_to.body)
            headers["WARC-Block-Digest"] = digest(head)
            self._write("revisit", capture.url, headers, b"", http=http)
            return offset, record_id, date
        headers["WARC-Payload-Digest"] = digest(capture.body)
        headers["WARC-Block-Digest"] = digest(head + capture.body)
        if capture.content_type is not None:
            # CC's payload identification (Apache Tika); left out with the Content-Type header
            # so that the missing-type pages must be sniffed from their bytes.
            headers["WARC-Identified-Payload-Type"] = capture.content_type.split(";")[0]
        self._write("response", capture.url, headers, capture.body, http=http)
        self._write_metadata(capture, date, record_id)
        return offset, record_id, date

    def _write_request(self, url: str, date: str, ip: str) -> str:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        http = StatusAndHeaders(f"GET {target} HTTP/1.1", [*_REQUEST_HEADERS, ("Host", parts.netloc),
                                                            ("Connection", "Keep-Alive")], is_http_request=True)
        record_id = self._record_id()
        headers = {"WARC-Type": "request", "WARC-Date": date, "WARC-Record-ID": record_id, "Content-Length": "0",
                   "Content-Type": "application/http; msgtype=request", "WARC-Warcinfo-ID": self._warcinfo_id,
                   "WARC-IP-Address": ip, "WARC-Target-URI": url}
        self._write("request", url, headers, b"", http=http)
        return record_id

    def _write_metadata(self, capture: Capture, date: str, response_id: str) -> None:
        fields = [("fetchTimeMs", str(self._rng.randint(40, 2500)))]
        if capture.encoding:
            fields.append(("charset-detected", capture.encoding.upper()))
        if capture.language:
            iso3, name = _CLD2[capture.language]
            found = {"code": capture.language, "code-iso-639-3": iso3, "text-covered": 0.97, "score": 900.0,
                     "name": name}
            cld2 = {"reliable": True, "text-bytes": len(capture.body), "languages": [found]}
            fields.append(("languages-cld2", json.dumps(cld2, separators=(",", ":"))))
        payload = "".join(f"{key}: {value}\r\n" for key, value in fields).encode()
        headers = {"WARC-Type": "metadata", "WARC-Date": date, "WARC-Record-ID": self._record_id(),
                   "Content-Length": "0", "Content-Type": "application/warc-fields",
                   "WARC-Warcinfo-ID": self._warcinfo_id, "WARC-Concurrent-To": response_id,
                   "WARC-Target-URI": capture.url}
        self._write("metadata", capture.url, headers, payload, content_type="application/warc-fields")

    def _response_headers(self, capture: Capture, date: str) -> list[tuple[str, str]]:
        """The server's headers as CC stores them; lower-case names for HTTP/2 servers."""
        rng = self._rng
        when = datetime.strptime(date, _WARC_DATE)
        headers = [("Date", email.utils.format_datetime(when.replace(tzinfo=timezone.utc), usegmt=True)),
                   ("Server", capture.server)]
        if capture.content_type is not None:
            headers.append(("Content-Type", capture.content_type))
        headers += capture.headers
        if capture.status == 200 and rng.random() < 0.5:
            modified = when - timedelta(days=rng.randint(1, 900))
            headers.append(("Last-Modified", email.utils.format_datetime(
                modified.replace(tzinfo=timezone.utc), usegmt=True)))
        if rng.random() < 0.3:
            headers.append(("Set-Cookie", f"session={rng.getrandbits(64):016x}; Path=/; HttpOnly"))
        if capture.body and rng.random() < 0.6:
            headers.append(("X-Crawler-Content-Encoding", "gzip"))
        if capture.body and rng.random() < 0.2:
            headers.append(("X-Crawler-Transfer-Encoding", "chunked"))
        if capture.status != 304:
            body = capture.refers_to.body if capture.refers_to else capture.body
            headers.append(("Content-Length", str(len(body))))
        if capture.server.startswith(_H2_SERVERS):
            headers = [(name if name.startswith("X-Crawler") else name.lower(), value) for name, value in headers]
        return headers

    def _write(self, record_type: str, url: str, headers: dict, payload: bytes, *,
               http: StatusAndHeaders | None = None, content_type: str = "") -> None:
        # Placeholder Content-Length and Content-Type keep CC's header order: warcio replaces them in place.
        record = self._writer.create_warc_record(url, record_type, payload=io.BytesIO(payload), length=len(payload),
                                                 warc_content_type=content_type or headers["Content-Type"],
                                                 warc_headers_dict=headers, http_headers=http)
        self._writer.write_record(record)


def _ip_address(url: str) -> str:
    """A stable fake IPv4 address per host."""
    a, b, c, d = hashlib.sha1(urlsplit(url).netloc.encode()).digest()[:4]
    return f"{a % 223 + 1}.{b}.{c}.{d}"
