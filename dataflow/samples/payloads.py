"""Non-HTML responses a crawl fetches alongside pages: images, PDFs, stylesheets, scripts, JSON.

Extraction must count and skip them before trafilatura sees them. Each body is small but
well formed (a PNG that decodes, a PDF with one text page), so a reader that sniffs bytes
rather than trusting the Content-Type header sees the real thing.
"""

from __future__ import annotations

import json
import random
import struct
import zlib

#: kind -> (Content-Type header, URL path template)
TYPES = {
    "png": ("image/png", "/images/photo-{n}.png"),
    "pdf": ("application/pdf", "/docs/report-{n}.pdf"),
    "css": ("text/css", "/static/site-{n}.css"),
    "javascript": ("application/javascript", "/assets/app.{n}.js"),
    "json": ("application/json", "/api/v1/items?page={n}"),
}


def payload(kind: str, rng: random.Random) -> bytes:
    if kind == "png":
        return _png(rng)
    if kind == "pdf":
        return _pdf(f"Annual report {rng.randint(2015, 2024)}, page 1.")
    if kind == "css":
        rules = [f".c{i}{{margin:{rng.randint(0, 20)}px;color:#{rng.randrange(0x1000000):06x}}}" for i in range(40)]
        return "\n".join(rules).encode()
    if kind == "javascript":
        return (f"(function(){{var n={rng.randint(1, 999)};document.querySelectorAll('.menu a')"
                ".forEach(function(a){a.addEventListener('click',function(){n++;});});})();").encode()
    if kind == "json":
        items = [{"id": rng.randint(1, 10**6), "price": rng.randint(1, 500)} for _ in range(20)]
        return json.dumps({"page": rng.randint(1, 50), "items": items}).encode()
    raise ValueError(f"unknown payload kind {kind!r}; known: {', '.join(TYPES)}")


def _png(rng: random.Random, size: int = 16) -> bytes:
    """A `size` x `size` 8-bit greyscale PNG of noise."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(size)) for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _pdf(text: str) -> bytes:
    """A one-page PDF 1.4 that shows `text`, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
