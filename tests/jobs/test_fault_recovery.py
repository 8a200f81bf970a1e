"""Faults in the middle of a run end with the same output as a clean run: a Python worker killed
during the extract stage (Spark retries its task), and the driver of `dataflow run pipeline`
killed after its first stages (the rerun resumes at the stage it was in).

The faulted run is a spark-submit of its own with `local[2,4]` (local mode retries a failed task
only when given a failure count), and the worker is killed from outside with SIGKILL, as the
kernel's OOM killer would; only processes of that spark-submit are ever signalled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil
import pyarrow.parquet as pq
import pytest

from dataflow.samples.generate import write_sample_warcs
from dataflow import cli
from jobs import extract
from tests.conftest import REPO_ROOT


def kept_rows(folder) -> list[tuple]:
    table = pq.read_table(folder / "data", columns=["id", "text"])
    return sorted(zip(*table.to_pydict().values()))


def stats_of(folder) -> dict:
    return json.loads((folder / "stats.json").read_text())


def kill_a_busy_worker(submit: subprocess.Popen, min_cpu_seconds: float = 0.7) -> int | None:
    """SIGKILL one Python worker of `submit` (a process forked by its pyspark.daemon) once it has
    computed for `min_cpu_seconds`, i.e. while it is extracting a WARC file."""
    while submit.poll() is None:
        for proc in psutil.Process(submit.pid).children(recursive=True):
            try:
                parent = proc.parent()
                forked_worker = parent is not None and "pyspark.daemon" in " ".join(parent.cmdline())
                if forked_worker and proc.cpu_times().user >= min_cpu_seconds:
                    proc.kill()
                    return proc.pid
            except psutil.Error:  # gone meanwhile
                continue
        time.sleep(0.05)
    return None


@pytest.fixture(scope="module")
def warcs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fault") / "warc"
    write_sample_warcs(folder, num_pages=100, num_files=2, seed=3)
    return folder


@pytest.mark.timeout(600)
def test_worker_killed_mid_stage_is_retried_and_the_output_equals_a_clean_run(spark, warcs, tmp_path):
    assert extract.main(["--input", str(warcs), "--output", str(tmp_path / "clean")]) == 0
    spark_submit = os.path.join(os.path.dirname(sys.executable), "spark-submit")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(REPO_ROOT)}
    submit = subprocess.Popen([spark_submit, "--master", "local[2,4]", "--conf", "spark.ui.enabled=false",
                               str(REPO_ROOT / "jobs" / "extract.py"), "--input", str(warcs),
                               "--output", str(tmp_path / "faulted")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = kill_a_busy_worker(submit)
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
