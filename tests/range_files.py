"""An HTTP handler serving a folder's files with Range support, as Common Crawl's HTTPS front end
does; the tests derive from it to fail or stall a read on purpose."""

from __future__ import annotations

import http.server
from pathlib import Path


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """GET with an optional `Range: bytes=a-b`; quiet."""

    def send_head_for_range(self) -> bytes | None:
        """Send the status and headers of this GET; return the body to write (None: 404 sent)."""
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return None
        data = path.read_bytes()
        start, end = 0, len(data) - 1
        if "Range" in self.headers:
            first, last = self.headers["Range"].removeprefix("bytes=").split("-")
            start, end = int(first), min(int(last) if last else end, end)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return data[start:end + 1]

    def do_GET(self):
        body = self.send_head_for_range()
        if body is not None:
            self.wfile.write(body)

    def log_message(self, *args):
        pass
