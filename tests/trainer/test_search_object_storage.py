"""The mixture search with its folder on object storage (a real S3 API on loopback, tests/s3_server.py):
the same table as on local disk, a resume with nothing left to do, one writer per folder."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from search_sources import PROXY_TRAIN, search_file, write_sources

from cli import main
from dataflow.errors import ConfigError
from dataflow.object_store import FsspecFS, StorePath, read_bytes, write_bytes
from trainer.checkpoint import step_folders
from trainer.search.engine import backends
from trainer.search.engine.layout import LOCK, RESULT
from trainer.search.engine.locks import lock_folder, release_folder
from trainer.search.engine.store import RunStore, read_json, read_state
from trainer.search.engine.worker import execute_run, scratch_folder
from trainer.search.searches.mixture import run_mixture_search, run_spec
from trainer.search.searches.mixture_config import load_mixture_config
from trainer.search.searches.mixture_inputs import read_inputs

from tests.s3_server import s3_bucket, s3_endpoint, spark_on_s3  # noqa: F401 - fixtures

pytest.importorskip("s3fs")
REPO = Path(__file__).resolve().parents[2]
TIMINGS = ("wall_seconds", "device_seconds")
"""The only columns that differ between two runs of a search: how long they took."""


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("search-sources"))


def _search(path: Path, sources, out_dir: str | Path, **overrides):
    """The search tests' 6-candidate search, with one seed per confirmation: 9 runs (the best-sampled
    confirmation is its candidate's own run)."""
    proxy = {"preset": "tiny", "total_tokens": 1024, "confirm_seeds": 1, "train": PROXY_TRAIN}
    return load_mixture_config(search_file(path, sources, out_dir, proxy=proxy, **overrides))


@pytest.mark.search_e2e
def test_a_search_on_s3_gives_the_local_table_resumes_with_nothing_to_do_and_has_one_writer(sources, tmp_path,
                                                                                          s3_bucket, capsys):
    url = f"{s3_bucket}/search"
    local = run_mixture_search(_search(tmp_path / "local.yaml", sources, tmp_path / "local"))
    config = _search(tmp_path / "s3.yaml", sources, url)
    try:
        remote = run_mixture_search(config)
        table = pq.read_table(io.BytesIO(read_bytes(f"{url}/results.parquet"))).drop_columns(list(TIMINGS))
        assert table.num_rows == 9 and set(table.column("status").to_pylist()) == {"done"}
        assert table.equals(pq.read_table(tmp_path / "local" / "results.parquet").drop_columns(list(TIMINGS)))
        assert remote["pick"] == local["pick"]  # the same losses, so the same fit and pick

        files = FsspecFS().file_sizes(url)
        run = "c000-s0"
        for name in ("spec.json", "status.json", "result.json", "run.yaml", "mixture.yaml", "metrics.jsonl",
                     "events.jsonl", "config.yaml", "checkpoints/step-000008/complete.json"):
            assert f"runs/{run}/{name}" in files, name
        assert {"search.yaml", "datasets.json", "summary.json", "best/mixture.yaml", "best/run.yaml",
                "plots/target_vs_weights.png", LOCK} <= set(files)
        assert not any(".tmp-" in name for name in files)  # one PUT per object, no temporary names
        assert not any(scratch_folder(StorePath(f"{url}/runs/{name.split('/')[1]}")).exists() for name in files
                       if name.startswith("runs/"))  # each run's scratch folder is gone once it ended

        results = {name: read_bytes(f"{url}/{name}") for name in files if name.endswith("result.json")}
        run_mixture_search(config, resume=True)  # plans the same runs: finds every one done
        assert {name: read_bytes(f"{url}/{name}") for name in results} == results
        assert all(read_state(StorePath(f"{url}/runs/{name.split('/')[1]}")).attempts == 1 for name in results)
        assert FsspecFS().file_sizes(url).keys() == files.keys()
        capsys.readouterr()
        assert main(["search", "status", url]) == 0
        assert f"{url}: 9 runs; 9 done, 0 running" in capsys.readouterr().out

        second = subprocess.run(  # another search process on the same folder (its search.yaml), while this one holds it
            [sys.executable, "-c", "from cli import main; raise SystemExit(main())", "search", "mixture",
             "--config", f"{url}/search.yaml", "--resume"],
            cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert second.returncode != 0
        assert f"in use by another search (pid {os.getpid()} on host {socket.gethostname()}" in second.stderr
    finally:
        release_folder(StorePath(url))
    assert LOCK not in FsspecFS().file_sizes(url)  # let go: the next search takes the folder at once


def test_the_lock_on_s3_refuses_a_live_holder_and_takes_over_a_stale_one(s3_bucket):
    root = StorePath(f"{s3_bucket}/held")
    holder = {"host": "another-host", "pid": 1, "since": "then"}
    write_bytes(f"{root}/{LOCK}", str({**holder, "heartbeat": time.time()}).replace("'", '"').encode())
    with pytest.raises(ConfigError, match=r"in use by another search \(pid 1 on host another-host, since then\)"):
        lock_folder(root)
    write_bytes(f"{root}/{LOCK}", str({**holder, "heartbeat": time.time() - 3600}).replace("'", '"').encode())
    try:
        lock_folder(root)  # no heartbeat for an hour: taken over
        assert f'"pid": {os.getpid()}' in read_bytes(f"{root}/{LOCK}").decode()
    finally:
        release_folder(root)
    assert not (root / LOCK).exists()


def test_a_store_out_dir_is_refused_on_slurm_naming_why(sources, tmp_path):
    with pytest.raises(ConfigError, match="the slurm backend needs a folder every node mounts"):
        _search(tmp_path / "s.yaml", sources, "s3://bucket/search", backend={"kind": "slurm", "cluster": "local"})


@pytest.mark.search_e2e
def test_spark_tasks_train_the_runs_of_a_folder_on_s3(spark_on_s3, sources, tmp_path, s3_bucket):
    config = _search(tmp_path / "s.yaml", sources, f"{s3_bucket}/spark", backend={"kind": "spark"})
    store, inputs = RunStore(config.out_dir), read_inputs(config)
    folders = [store.add(run_spec(config, inputs, f"m{index}", [0.2, 0.3, 0.5], 0, "candidate")) for index in (0, 1)]
    backends.run_all(folders, config.backend, max_attempts=1, work_dir=store.root)
    rows = store.write_table(config.target_weights).to_pylist()
    assert [(row["run"], row["status"], row["attempts"]) for row in rows] == [("m0-s0", "done", 1),
                                                                               ("m1-s0", "done", 1)]
    assert rows[0]["target"] == rows[1]["target"] > 0  # the same spec in two tasks: the same losses
    assert "runs/m1-s0/metrics.jsonl" in FsspecFS().file_sizes(config.out_dir)


@pytest.mark.fault
def test_a_run_on_s3_killed_mid_training_resumes_from_its_checkpoint_on_s3(sources, tmp_path, s3_bucket):
    """Killed (SIGKILL) after its first checkpoint reached the store, the run's next try starts from that
    checkpoint and ends with the scores of an uninterrupted run of the same spec on local disk."""
    proxy = {"preset": "tiny", "total_tokens": 100 * 128, "confirm_seeds": 1,
             "train": {**PROXY_TRAIN, "checkpoint": {"every_steps": 10}}}
    config = load_mixture_config(search_file(tmp_path / "s.yaml", sources, f"{s3_bucket}/killed", proxy=proxy))
    spec = run_spec(config, read_inputs(config), "m0", [0.2, 0.3, 0.5], 0, "candidate")
    folder = RunStore(config.out_dir).add(spec)
    worker = subprocess.Popen(
        [sys.executable, "-c", ("import sys, torch; torch.set_num_threads(1); from trainer.search.engine.worker import "
                                "execute_run; execute_run(sys.argv[1], 2)"), str(folder)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 600  # a safety net on a loaded machine, not a timing assertion
    while not step_folders(folder / "checkpoints") and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.kill()
    worker.wait()
    killed_at = step_folders(folder / "checkpoints")[-1][0]
    assert 0 < killed_at < 100 and read_state(folder).status == "running"

    assert execute_run(str(folder), 2) == "done"
    state = read_state(folder)
    assert state.history == ["try 1: interrupted", "try 2: done"] and state.start_step >= killed_at
    local = RunStore(tmp_path / "local").add(spec)
    assert execute_run(local, 1) == "done"
    assert read_json(folder / RESULT) == read_json(local / RESULT)
