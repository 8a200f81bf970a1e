"""Run store and backends: retries and failure records, Spark (local mode) and submitit's local executor."""

from __future__ import annotations

import pytest
from search_sources import search_file, write_sources

from trainer.search.engine import backends
from trainer.search.engine.config import LocalBackend, SlurmBackend, SparkBackend
from trainer.search.engine.store import RunStore, read_state
from trainer.search.searches.mixture import run_spec
from trainer.search.searches.mixture_config import load_mixture_config
from trainer.search.searches.mixture_inputs import read_inputs


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    root = tmp_path_factory.mktemp("search-backends")
    config = load_mixture_config(search_file(root / "search.yaml", write_sources(root / "sources"), root / "unused"))
    return config, read_inputs(config)


def _store_with_runs(search, root, count: int, broken: bool = False) -> tuple[RunStore, list]:
    config, inputs = search
    store = RunStore(root)
    specs = [run_spec(config, inputs, f"m{index}", [0.2, 0.3, 0.5], 0, "candidate") for index in range(count)]
    if broken:  # a run whose mixture names a source folder that does not exist: every try raises
        bad = specs[-1]
        mixture = {**bad.mixture_file, "sources": {**bad.mixture_file["sources"], "web": {
            **bad.mixture_file["sources"]["web"], "path": str(root / "no-such-source")}}}
        specs[-1] = type(bad)(**{**bad.__dict__, "mixture_file": mixture})
    return store, [store.add(spec) for spec in specs]


def test_run_that_raises_is_retried_then_recorded_failed_with_reason_and_no_score(search, tmp_path):
    store, folders = _store_with_runs(search, tmp_path, 2, broken=True)
    backends.run_all(folders, LocalBackend(workers=2), max_attempts=3, work_dir=tmp_path)

    good, bad = (read_state(folder) for folder in folders)
    assert (good.status, good.attempts, good.failure) == ("done", 1, None)
    assert (bad.status, bad.attempts, bad.failures) == ("failed", 2, 2)  # the same failure twice is final
    assert "no-such-source does not exist" in bad.failure and len(bad.history) == 3  # 2 tries and why it stopped
    assert not (folders[1] / "result.json").exists()
    rows = {row["run"]: row for row in store.write_table(search[0].target_weights).to_pylist()}
    assert rows["m1-s0"]["status"] == "failed" and rows["m1-s0"]["target"] is None
    assert "no-such-source" in rows["m1-s0"]["failure"]
    assert rows["m0-s0"]["target"] > 0 and rows["m0-s0"]["failure"] is None
    assert store.unfinished(folders) == []  # a failed run is final: --resume does not rerun it


@pytest.mark.search_e2e
def test_spark_backend_runs_each_proxy_as_a_task(spark, search, tmp_path):
    store, folders = _store_with_runs(search, tmp_path, 2)
    finished = []
    backends.run_all(folders, SparkBackend(kind="spark"), max_attempts=1, work_dir=tmp_path,
                     progress=lambda folder, status: finished.append((folder.name, status)))
    assert sorted(finished) == [("m0-s0", "done"), ("m1-s0", "done")]
    assert all(row["target"] > 0 for row in store.write_table(search[0].target_weights).to_pylist())


@pytest.mark.search_e2e
def test_submitit_local_executor_runs_the_job_array(search, tmp_path):
    store, folders = _store_with_runs(search, tmp_path, 2)
    backends.run_all(folders, SlurmBackend(kind="slurm", cluster="local", timeout_min=5), max_attempts=1,
                     work_dir=tmp_path)
    assert [read_state(folder).status for folder in folders] == ["done", "done"]
    assert any((tmp_path / "submitit").rglob("*_result.pkl"))  # it went through submitit's own files


@pytest.mark.fault
def test_spark_task_whose_python_worker_is_killed_is_one_failed_try_and_is_run_again(spark, tmp_path):
    from test_search_recovery import LONG, _runs, _search, _with_kill

    long_search = _search(write_sources(tmp_path / "sources"), tmp_path, proxy=LONG)
    store, folders = _runs(long_search, 2)
    killed = _with_kill(folders, lambda: backends.run_all(folders, SparkBackend(kind="spark"), max_attempts=2,
                                                          work_dir=tmp_path))
    state = read_state(store.runs / killed)
    assert (state.status, state.attempts, state.failures) == ("done", 2, 1)
    assert state.history[0].startswith("try 1: worker lost: Spark job failed: ") and "Python worker" in state.history[0]
    assert [read_state(folder).status for folder in folders] == ["done", "done"]
