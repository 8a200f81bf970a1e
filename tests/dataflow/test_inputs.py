"""Input specs (glob, directory, listing, Common Crawl names) and remote reads with retries."""

from __future__ import annotations

import gzip
import http.server
import threading
from collections import Counter

import pytest

from dataflow.errors import InputError
from dataflow.extract.inputs import crawl_listing_url, resolve_inputs
from dataflow.extract.warc import ReadFailure, read_archive
from dataflow.remote import TransientReadError
from dataflow.samples import write_sample_warcs
from dataflow.samples.generate import FILE_NAME
from tests.range_files import RangeHandler


@pytest.fixture(scope="module")
def warc_folder(tmp_path_factory):
    """A folder of three sample WARC files beside their manifest.jsonl (not a WARC file)."""
    folder = tmp_path_factory.mktemp("warc")
    write_sample_warcs(folder, num_pages=100, num_files=3, seed=19)
    return folder


def test_glob_directory_and_single_file(warc_folder):
    by_glob = resolve_inputs([str(warc_folder / "*.warc.gz")])
    assert by_glob == sorted(by_glob) and len(by_glob) == 3 and all(p.endswith(".warc.gz") for p in by_glob)
    assert resolve_inputs([str(warc_folder)]) == by_glob  # the manifest beside them is left out
    assert resolve_inputs([by_glob[1]]) == [by_glob[1]]


def test_paths_listing_joins_the_base_url(tmp_path):
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress(b"crawl-data/CC-MAIN-2024-22/a.warc.gz\n\ncrawl-data/CC-MAIN-2024-22/b.warc.gz\n"))
    assert resolve_inputs([str(listing)], limit_files=1) == [
        "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-22/a.warc.gz"]
    assert resolve_inputs([str(listing)], base_url="s3://commoncrawl/")[1] == "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/b.warc.gz"


def test_text_listing_is_relative_to_its_folder(tmp_path):
    (tmp_path / "paths.txt").write_text("# my files\nx.warc.gz\n/abs/y.warc.gz\n")
    assert resolve_inputs([str(tmp_path / "paths.txt")]) == [f"{tmp_path}/x.warc.gz", "/abs/y.warc.gz"]


def test_listing_of_non_warc_files_is_refused(tmp_path):
    """A listing of Common Crawl's columnar index (Parquet files), passed where WARC files are meant."""
    listing = tmp_path / "cc-index-table.paths.gz"
    listing.write_bytes(gzip.compress(b"cc-index/table/cc-main/warc/crawl=CC-MAIN-2024-22/subset=warc/"
                                      b"part-00000-4dd72944-e9c0-41a1-9026-dfd2d0615bf2.c000.gz.parquet\n"))
    with pytest.raises(InputError, match="no WARC files"):
        resolve_inputs([str(listing)])


def test_crawl_name_builds_the_listing_url():
    assert crawl_listing_url("CC-MAIN-2024-22") == "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-22/warc.paths.gz"
    with pytest.raises(InputError, match="CC-MAIN-"):
        crawl_listing_url("2024-22")


def test_unmatched_glob_names_the_spec(tmp_path):
    with pytest.raises(InputError, match="no WARC files found"):
        resolve_inputs([str(tmp_path / "*.warc.gz")])


class FlakyRangeHandler(RangeHandler):
    """Serves files with Range support; answers 503 SlowDown to the first `failures` GETs."""

    failures = 0

    def do_GET(self):
        if FlakyRangeHandler.failures > 0:
            FlakyRangeHandler.failures -= 1
            self.send_error(503, "SlowDown")
            return
        super().do_GET()


@pytest.fixture
def http_root(warc_folder):
    handler = lambda *a, **k: FlakyRangeHandler(*a, directory=str(warc_folder), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def kinds(path: str) -> Counter:
    return Counter(item.cause if isinstance(item, ReadFailure) else item.record_type
                   for item in read_archive(path, max_payload_bytes=1 << 21))


def test_http_503_slowdown_is_retried_with_backoff(http_root, warc_folder, monkeypatch):
    monkeypatch.setattr("dataflow.remote.time.sleep", lambda seconds: None)  # keep the test fast
    FlakyRangeHandler.failures = 3
    remote = kinds(f"{http_root}/{FILE_NAME.format(index=0)}")
    assert remote == kinds(str(warc_folder / FILE_NAME.format(index=0))) and remote["response"] > 0
    assert FlakyRangeHandler.failures == 0


def test_http_404_is_one_unreadable_file(http_root):
    FlakyRangeHandler.failures = 0
    assert kinds(f"{http_root}/absent.warc.gz") == Counter({"unreadable_file": 1})


def test_network_failure_past_the_retries_fails_the_file_instead_of_counting_it(http_root):
    """503s that outlast the retries are the network's fault: the file must be read again (Spark
    retries the task), not counted as an unreadable file and lost."""
    FlakyRangeHandler.failures = 100
    url = f"{http_root}/{FILE_NAME.format(index=0)}"
    with pytest.raises(TransientReadError, match=r"giving up on .*-00000.warc.gz after 2 retries: .*503"):
        list(read_archive(url, max_payload_bytes=1 << 21, read_retries=2, retry_backoff_seconds=0))
    FlakyRangeHandler.failures = 0
