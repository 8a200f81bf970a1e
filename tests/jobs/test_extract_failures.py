"""A WARC file that fails its task (here: a network failure past the retries) fails the stage
loudly, and the user sees the error itself and the file, in one line."""

from __future__ import annotations

import http.server
import threading

import pytest

import cli
from tests.dataflow.test_inputs import FlakyRangeHandler


@pytest.fixture
def unreachable_warc(tmp_path):
    """A WARC URL whose server answers 503 SlowDown to every request."""
    (tmp_path / "a.warc.gz").write_bytes(b"never served")
    handler = lambda *a, **k: FlakyRangeHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FlakyRangeHandler.failures = 10_000
    yield f"http://127.0.0.1:{server.server_address[1]}/a.warc.gz"
    FlakyRangeHandler.failures = 0
    server.shutdown()


def test_unreachable_file_fails_the_stage_with_the_error_and_the_path(spark, unreachable_warc, tmp_path, capsys):
    code = cli.main(["run", "extract", "--input", unreachable_warc, "--output", str(tmp_path / "docs"),
                     "--read-retries", "1", "--read-backoff-seconds", "0"])
    error = capsys.readouterr().err.splitlines()[0]
    assert code == 2
    assert error.startswith(f"error: a Spark task failed: FileFailed: while reading {unreachable_warc}: "
                            "TransientReadError: giving up on")
    assert "503" in error
    assert not (tmp_path / "docs").exists()
    assert not list(tmp_path.glob("docs.tmp-*"))  # the failed run cleaned its own temporary folder
