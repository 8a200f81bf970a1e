"""Faults in the middle of a run end with the same output as a clean run: a Python worker killed
during the extract stage (Spark retries its task), and the driver of `dataflow run pipeline`
killed after its first stages (the rerun resumes at the stage it was in).

The faulted run is a spark-submit of its own with `local[2,4]` (local mode retries a failed task
only when given a failure count), and the worker is killed from outside with SIGKILL, as the
kernel's OOM killer would; only processes of that spark-submit are ever signalled. The worker is
killed on an event, not after some CPU time: one WARC file is served over HTTP by a server that
stops half-way through the first read until the kill is done, so the worker is certainly inside
that file however fast the machine.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time

import psutil
import pyarrow.parquet as pq
import pytest

from dataflow.samples.generate import write_sample_warcs
import cli
from jobs import extract
from tests.conftest import REPO_ROOT
from tests.range_files import RangeHandler

pytestmark = pytest.mark.fault


def kept_rows(folder) -> list[tuple]:
    table = pq.read_table(folder / "data", columns=["id", "text"])
    return sorted(zip(*table.to_pydict().values()))


def stats_of(folder) -> dict:
    return json.loads((folder / "stats.json").read_text())


class StallingHandler(RangeHandler):
    """Serves WARC files with Range support; the first ranged GET (a reader's, not an existence probe)
    sends half its bytes, sets `reading` and waits for `release` before the rest, so a worker is
    certainly inside a file when it is killed."""

    reading: threading.Event
    release: threading.Event

    def do_GET(self):
        body = self.send_head_for_range()
        try:
            if "Range" in self.headers and not self.reading.is_set():  # a reader's block, not a probe
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.reading.set()
                self.release.wait(timeout=300)
                body = body[len(body) // 2:]
            self.wfile.write(body)
        except OSError:  # the reader was the killed worker
            pass


@pytest.fixture
def stalling_server(warcs):
    """(base URL, reading, release) of a server over the WARC folder (StallingHandler)."""
    reading, release = threading.Event(), threading.Event()
    handler = type("Handler", (StallingHandler,), {"reading": reading, "release": release})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             lambda *a, **k: handler(*a, directory=str(warcs), **k))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", reading, release
    release.set()
    server.shutdown()


def kill_the_reading_worker(submit: subprocess.Popen, port: int) -> int | None:
    """SIGKILL the Python worker of `submit` (forked by its pyspark.daemon) holding a connection to `port`."""
    for proc in psutil.Process(submit.pid).children(recursive=True):
        try:
            parent = proc.parent()
            forked_worker = parent is not None and "pyspark.daemon" in " ".join(parent.cmdline())
            if forked_worker and any(c.raddr and c.raddr.port == port for c in proc.net_connections("tcp")):
                proc.kill()
                return proc.pid
        except psutil.Error:  # gone meanwhile
            continue
    return None


@pytest.fixture(scope="module")
def warcs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fault") / "warc"
    write_sample_warcs(folder, num_pages=100, num_files=2, seed=3)
    return folder


@pytest.mark.timeout(600)
def test_worker_killed_mid_stage_is_retried_and_the_output_equals_a_clean_run(spark, warcs, stalling_server, tmp_path):
    assert extract.main(["--input", str(warcs), "--output", str(tmp_path / "clean")]) == 0
    base_url, reading, release = stalling_server
    local, served = sorted(warcs.glob("*.warc.gz"))  # one file read from disk, one through the stalling server
    spark_submit = os.path.join(os.path.dirname(sys.executable), "spark-submit")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(REPO_ROOT)}
    submit = subprocess.Popen([spark_submit, "--master", "local[2,4]", "--conf", "spark.ui.enabled=false",
                               str(REPO_ROOT / "jobs" / "extract.py"), "--input", str(local),
                               "--input", f"{base_url}/{served.name}", "--output", str(tmp_path / "faulted")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert reading.wait(timeout=300), "no worker started reading the served WARC file"
    killed = kill_the_reading_worker(submit, int(base_url.rsplit(":", 1)[1]))
    release.set()
    _, log = submit.communicate(timeout=480)
    assert killed is not None and submit.returncode == 0, log[-3000:]
    assert "Lost task" in log  # the killed worker's task failed and was run again
    assert kept_rows(tmp_path / "faulted") == kept_rows(tmp_path / "clean")
    faulted, clean = stats_of(tmp_path / "faulted"), stats_of(tmp_path / "clean")
    assert (faulted["rows_in"], faulted["rejected_by_reason"]) == (clean["rows_in"], clean["rejected_by_reason"])


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL `process` and everything it started (its JVM, Python workers): a driver killed outright."""
    tree = psutil.Process(process.pid)
    for proc in [*tree.children(recursive=True), tree]:
        try:
            proc.kill()
        except psutil.Error:
            continue
    process.wait()


def shard_bytes(folder) -> dict[str, bytes]:
    """The shard files of a token or mixture folder (manifests and stats.json name the run's own paths)."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix in (".bin", ".idx", ".src")}


@pytest.mark.timeout(900)
def test_driver_killed_mid_pipeline_resumes_to_the_clean_runs_output(spark, warcs, tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text("tokenizer: {vocab_size: 2000}\n")  # trains in a second on 100 pages
    args = ["run", "pipeline", "--input", str(warcs), "--seq-len", "128", "--config", str(config)]
    assert cli.main([*args, "--output", str(tmp_path / "clean")]) == 0
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "dataflow", *args, "--output", str(tmp_path / "killed")]
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while driver.poll() is None and not (tmp_path / "killed" / "filtered" / "_SUCCESS").exists():
        time.sleep(0.1)
    kill_tree(driver)  # during dedup, the third stage
    assert not (tmp_path / "killed" / "deduped" / "_SUCCESS").exists()
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "docs is complete and current; skipping" in rerun.stderr
    for stage in ("docs", "filtered", "deduped", "clean"):
        assert kept_rows(tmp_path / "killed" / stage) == kept_rows(tmp_path / "clean" / stage), stage
    for folder in ("tokens/web", "shards/web"):
        assert shard_bytes(tmp_path / "killed" / folder) == shard_bytes(tmp_path / "clean" / folder), folder
