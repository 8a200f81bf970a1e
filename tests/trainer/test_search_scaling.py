"""The scaling search end to end on the local backend: a 2 x 4 grid of tiny proxies, one held out."""

from __future__ import annotations

import json
import math

import pytest
from killed_search import (
    assert_resumed_only_unfinished,
    finished_results,
    kill_when_one_done_and_one_checkpointed,
    start_search,
)
from search_sources import PROXY_TRAIN, write_sources
from sweep_files import mixture_file, sweep_file
from typer.testing import CliRunner

from cli import app
from dataflow.errors import ConfigError
from dataflow.inspect import inspect_path
from trainer.search.engine.store import read_state
from trainer.search.searches.scaling import load_scaling_config, run_scaling_search


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep-sources")
    return mixture_file(root / "mix.yaml", write_sources(root))


@pytest.mark.search_e2e
def test_scaling_grid_is_fitted_with_intervals_predicts_the_held_out_run_and_resumes_without_rerunning(mixture,
                                                                                                       tmp_path):
    config = load_scaling_config(sweep_file(tmp_path / "scaling.yaml", mixture, tmp_path / "scaling",
                                            tokens=[512, 1024, 2048, 4096], holdout=["s32@4096"],
                                            bootstrap_samples=20, compute=[1e12]))
    summary = run_scaling_search(config)

    assert summary["runs"] == {"done": 8, "failed": 0, "queued": 0, "running": 0}
    assert len(summary["grid"]) == 8 and sum(g["held_out"] for g in summary["grid"]) == 1
    assert {g["tokens"] for g in summary["grid"]} == {512, 1024, 2048, 4096}
    small, large = ({g["params"] for g in summary["grid"] if g["size"] == size} for size in ("s16", "s32"))
    assert len(small) == len(large) == 1 and small.pop() < large.pop()
    for name, (low, high) in summary["intervals"].items():
        assert low <= high and math.isfinite(summary["law"][name])
    (held,) = summary["holdout"]
    assert held["point"] == "s32@4096" and held["error"] == pytest.approx(held["predicted"] - held["observed"])
    (optimal,) = summary["compute_optimal"]
    assert optimal["params"] * optimal["tokens"] * 6 == pytest.approx(1e12)
    for plot in ("scaling_fit", "compute_frontier"):
        assert (tmp_path / "scaling" / "plots" / f"{plot}.png").stat().st_size > 1000

    finished = {path: path.stat().st_mtime_ns for path in (tmp_path / "scaling" / "runs").glob("*/result.json")}
    assert run_scaling_search(config, resume=True)["law"] == summary["law"]  # nothing left to run: same fit
    assert {path: path.stat().st_mtime_ns for path in finished} == finished
    with pytest.raises(ConfigError, match="pass --resume"):
        run_scaling_search(config)
    status = CliRunner().invoke(app, ["search", "status", str(tmp_path / "scaling")])
    assert status.exit_code == 0 and "8 runs; 8 done" in status.output, status.output
    report = inspect_path(tmp_path / "scaling")
    assert report.kind == "search"
    assert set(report.tables) >= {"runs", "scaling law", "compute-optimal", "held-out prediction"}


def test_one_budget_grid_is_refused_before_any_run_with_what_to_add(mixture, tmp_path):
    config = load_scaling_config(sweep_file(tmp_path / "scaling.yaml", mixture, tmp_path / "scaling",
                                            tokens=[512], sizes={"s16": {"model": {"d_model": 16}}}))
    with pytest.raises(ConfigError, match="at least 2 model sizes and 2 token budgets"):
        run_scaling_search(config)
    assert not (tmp_path / "scaling" / "runs").exists()


@pytest.mark.fault
def test_killed_scaling_search_resumes_only_unfinished_runs_and_writes_the_fit(mixture, tmp_path):
    # One worker and a checkpoint every 2 steps (128 tokens each), so the kill lands inside a run.
    path = sweep_file(tmp_path / "scaling.yaml", mixture, tmp_path / "scaling", tokens=[512, 1024, 2048],
                      bootstrap_samples=5, backend={"kind": "local", "workers": 1},
                      train={**PROXY_TRAIN, "checkpoint": {"every_steps": 2}})
    runs = tmp_path / "scaling" / "runs"
    killed = kill_when_one_done_and_one_checkpointed(start_search("scaling", "--config", str(path)), runs)
    finished = finished_results(runs)
    assert killed not in finished and read_state(runs / killed).status == "running"
    assert not (tmp_path / "scaling" / "summary.json").exists()

    resumed = CliRunner().invoke(app, ["search", "scaling", "--config", str(path), "--resume"])

    assert resumed.exit_code == 0 and "L(N, D) = " in resumed.output, resumed.output
    starts = assert_resumed_only_unfinished(runs, finished, killed, num_runs=6)
    assert starts[0].startswith("training from scratch")
    summary = json.loads((tmp_path / "scaling" / "summary.json").read_text())  # the fit over all 6 runs
    assert summary["runs"]["done"] == 6 and all(math.isfinite(value) for value in summary["law"].values())
    assert set(inspect_path(tmp_path / "scaling").tables) >= {"runs", "scaling law"}
