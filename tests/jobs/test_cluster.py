"""The whole pipeline on a real Spark standalone cluster gives what local mode gives.

A master and one worker start on 127.0.0.1 from the pip-installed pyspark (`spark-class`, which
execs the JVM, so the PIDs started here are the daemons and only they are stopped), then
`spark-submit --master spark://127.0.0.1:PORT` runs jobs/pipeline.py with the code shipped as a
zip (`--py-files`); the language and quality models reach the executors as files
(`SparkContext.addFile`, found in the worker's application folder). Every stage's kept ids and
texts, the token documents and the mixed shards must equal those of the same config run in
local mode. One sample WARC file (about 25 pages) keeps it to minutes on two cores.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml

import cli
from dataflow.samples.generate import write_sample_warcs

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
PAGES, FILES = 100, 4  # the sample's smallest set; one of its WARC files (~25 pages) is the input
DOCUMENT_STAGES = ("docs", "filtered", "deduped", "scored", "clean")
START_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spark_bin(name: str) -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / name)


def _wait_for(log: Path, text: str, process: subprocess.Popen) -> None:
    deadline = time.time() + START_SECONDS
    while time.time() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{log.name}: exited before '{text}':\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(1)
    raise RuntimeError(f"{log.name}: no '{text}' after {START_SECONDS}s")


def _code_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for package in ("dataflow", "jobs", "classifiers"):
            for file in (REPO / package).rglob("*"):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, file.relative_to(REPO).as_posix())
    return path


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    """spark://127.0.0.1:PORT with one 2-core worker; yields (master URL, worker work dir)."""
    root = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_DAEMON_MEMORY": "512m", "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    port = _free_port()
    started = []
    try:
        with open(root / "master.log", "w") as log:
            started.append(subprocess.Popen([_spark_bin("spark-class"), "org.apache.spark.deploy.master.Master",
                                             "--host", "127.0.0.1", "--port", str(port),
                                             "--webui-port", str(_free_port())], stdout=log, stderr=log, env=env))
        _wait_for(root / "master.log", "I have been elected leader", started[0])
        with open(root / "worker.log", "w") as log:
            started.append(subprocess.Popen([_spark_bin("spark-class"), "org.apache.spark.deploy.worker.Worker",
                                             "--host", "127.0.0.1", "--cores", "2", "--memory", "3g",
                                             "--webui-port", str(_free_port()), "--work-dir", str(root / "work"),
                                             f"spark://127.0.0.1:{port}"], stdout=log, stderr=log, env=env))
        _wait_for(root / "worker.log", "Successfully registered with master", started[1])
        yield f"spark://127.0.0.1:{port}", root / "work"
    finally:
        for process in reversed(started):  # only the daemons started here, by PID
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _kept(stage: Path) -> list[tuple[str, str]]:
    table = ds.dataset(str(stage / "data"), format="parquet", ignore_prefixes=[".", "_"]).to_table(columns=["id",
                                                                                                            "text"])
    return sorted(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))


def _token_documents(source: Path) -> list[tuple]:
    table = ds.dataset(str(source / "documents"), format="parquet").to_table(columns=["id", "split", "num_tokens"])
    return sorted(zip(*(table.column(name).to_pylist() for name in ("id", "split", "num_tokens"))))


def _shard_hashes(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.bin"))}


def test_pipeline_on_a_standalone_cluster_keeps_what_local_mode_keeps(spark, standalone_cluster, quality_model,
                                                                      tmp_path):
    master, work_dir = standalone_cluster
    warcs = write_sample_warcs(tmp_path / "warc", num_pages=PAGES, num_files=FILES, seed=3).warc_paths
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"input": [str(warcs[0])], "seq_len": 16,
                                      "classify": {"model": str(quality_model)},
                                      "tokenizer": {"vocab_size": 500}, "tokenize": {"validation_frac": 0.2}}))
    assert cli.main(["run", "pipeline", "--config", str(config), "--output", str(tmp_path / "local"), "--quiet"]) == 0

    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYSPARK_GATEWAY_PORT")}
    env.update(PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    submitted = subprocess.run(
        [_spark_bin("spark-submit"), "--master", master, "--driver-memory", "1g", "--executor-memory", "1g",
         "--executor-cores", "1", "--total-executor-cores", "2", "--conf", "spark.driver.host=127.0.0.1",
         "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.log.level=WARN", "--py-files",
         str(_code_zip(tmp_path / "dataflow.zip")),
         str(REPO / "jobs" / "pipeline.py"), "--config", str(config), "--output", str(tmp_path / "cluster")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    errors = [line for line in submitted.stderr.splitlines() if "Error" in line or "error:" in line]
    assert submitted.returncode == 0, "\n".join([*errors[-20:], submitted.stdout[-2000:]])

    local, cluster = tmp_path / "local", tmp_path / "cluster"
    for stage in DOCUMENT_STAGES:
        assert _kept(cluster / stage) == _kept(local / stage), stage
    assert len(_kept(local / "clean")) > 0
    assert _token_documents(cluster / "tokens" / "web") == _token_documents(local / "tokens" / "web")
    tokenizer = Path("tokenizer") / "tokenizer.json"
    assert (cluster / tokenizer).read_bytes() == (local / tokenizer).read_bytes()
    assert _shard_hashes(cluster / "shards" / "web") == _shard_hashes(local / "shards" / "web")
    # The models reached the executors as files, named by ship_file: <key>-<the model's own name>.
    shipped = {path.name.split("-", 1)[-1] for path in work_dir.rglob("*") if path.is_file()}
    assert {"lid.176.ftz", quality_model.name} <= shipped
