"""The mixture search end to end on the local backend, and its resume after a killed search."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from killed_search import kill_when_one_done_and_one_checkpointed, start_search
from search_sources import PROXY_TRAIN, search_file, write_sources

from cli import main
from dataflow.inspect import inspect_path
from dataflow.mix.mixture import load_mixture, plan_mixture
from dataflow.shards import open_split
from trainer.config import load_train_config
from trainer.metrics import read_jsonl
from trainer.search.engine.store import read_state
from trainer.search.searches.mixture import run_mixture_search
from trainer.search.searches.mixture_config import load_mixture_config


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("search-sources"))


@pytest.mark.search_e2e
def test_six_proxy_search_writes_table_pick_baselines_and_plots(sources, tmp_path):
    config = load_mixture_config(search_file(tmp_path / "search.yaml", sources, tmp_path / "mix1"))
    summary = run_mixture_search(config)

    rows = pq.read_table(tmp_path / "mix1" / "results.parquet").to_pylist()
    # 6 candidates, then 2 seeds of natural, uniform and predicted, and 1 more seed of the best candidate
    assert len(rows) == 13 and {row["status"] for row in rows} == {"done"}
    assert sum("candidate" in row["labels"] for row in rows) == 6
    assert all(row["target"] == pytest.approx(0.5 * row["bpb_wiki"] + 0.5 * row["bpb_books"]) for row in rows)
    assert all(abs(sum(row[f"w_{name}"] for name in sources) - 1) < 1e-9 for row in rows)
    assert summary["runs"] == {"done": 13, "failed": 0, "queued": 0, "running": 0}
    assert set(summary["fit"]["models"]) == {"lightgbm", "linear", "mixing-law", "ensemble"}
    assert {label: entry["seeds"] for label, entry in summary["comparison"].items()} == {
        "natural": 2, "uniform": 2, "best-sampled": 2, "predicted": 2}
    assert len(summary["verdicts"]) == 3

    best = load_mixture(tmp_path / "mix1" / "best" / "mixture.yaml")
    assert best.total_tokens == 40_000
    available = {name: open_split(folder, "train").num_tokens for name, folder in sources.items()}
    plan_mixture(best, available)  # feasible for the final run: raises otherwise
    assert best.shares == pytest.approx(summary["pick"])
    assert load_train_config(tmp_path / "mix1" / "best" / "run.yaml").data.mixture.endswith("best/mixture.yaml")
    for plot in ("predicted_vs_observed", "target_vs_weights", "pick_vs_baselines"):
        assert (tmp_path / "mix1" / "plots" / f"{plot}.png").stat().st_size > 1000

    report = inspect_path(tmp_path / "mix1")
    assert report.kind == "search"
    assert len(report.tables["runs"].rows) == 13
    assert [row[0] for row in report.tables["pick vs baselines"].rows] == ["natural", "uniform", "best-sampled",
                                                                          "predicted"]


@pytest.mark.fault
def test_killed_search_reruns_only_the_unfinished_run_from_its_checkpoint(sources, tmp_path, capsys):
    # Longer proxies (100 steps, a checkpoint every 10) on one worker, so the kill lands inside a run.
    path = search_file(tmp_path / "search.yaml", sources, tmp_path / "mix1", backend={"kind": "local", "workers": 1},
                       proxy={"preset": "tiny", "total_tokens": 100 * 128, "confirm_seeds": 2,
                              "train": {**PROXY_TRAIN, "checkpoint": {"every_steps": 10}}})
    runs = tmp_path / "mix1" / "runs"
    search = start_search("mixture", "--config", str(path))
    killed = kill_when_one_done_and_one_checkpointed(search, runs)
    done_before = {folder.name: (folder / "result.json").stat().st_mtime_ns for folder in runs.iterdir()
                   if (folder / "status.json").is_file() and read_state(folder).status == "done"}
    assert killed not in done_before and read_state(runs / killed).status == "running"
    assert main(["search", "status", str(tmp_path / "mix1")]) == 0
    status = capsys.readouterr().out  # the killed run shows as interrupted, not running
    assert f"{len(done_before)} done, 0 running, " in status and ", 1 interrupted, 0 failed" in status

    run_mixture_search(load_mixture_config(path), resume=True)

    for name, mtime in done_before.items():  # finished runs were not redone
        assert (runs / name / "result.json").stat().st_mtime_ns == mtime
        assert read_state(runs / name).attempts == 1
    state = read_state(runs / killed)
    assert (state.status, state.attempts, state.failures) == ("done", 2, 0)
    assert state.history == ["try 1: interrupted", "try 2: done"]
    starts = [event["message"] for event in read_jsonl(runs / killed / "events.jsonl") if event["event"] == "start"]
    assert starts[0].startswith("training from scratch") and starts[1].startswith("training resumed from")
