"""Learning-rate searches at several sizes (grid and Optuna with pruning), and the compute plan."""

from __future__ import annotations

import json

import pytest
from killed_search import (
    assert_resumed_only_unfinished,
    finished_results,
    kill_when_one_done_and_one_checkpointed,
    start_search,
)
from search_sources import PROXY_TRAIN, write_sources
from sweep_files import SIZES, mixture_file, sweep_file
from typer.testing import CliRunner

from cli import app
from dataflow.inspect import inspect_path
from trainer.config import load_train_config
from trainer.search.engine.store import write_json
from trainer.search.fits.scaling_law import ScalingLaw
from trainer.search.searches.hparams import load_hparam_config, run_hparam_search

THREE_SIZES = {"s16": {"model": {"d_model": 16}}, "s32": {"model": {"d_model": 32}}, "s64": {"model": {"d_model": 64}}}


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("hparam-sources")
    return mixture_file(root / "mix.yaml", write_sources(root))


@pytest.mark.search_e2e
def test_grid_at_three_sizes_fits_a_rate_law_and_predicts_a_preset(mixture, tmp_path):
    config = load_hparam_config(sweep_file(tmp_path / "lr.yaml", mixture, tmp_path / "lr", sizes=THREE_SIZES,
                                           tokens=512, lrs=[1e-3, 1e-2, 1e-1], predict_for="gpt-1m"))
    summary = run_hparam_search(config)

    assert summary["runs"] == {"done": 9, "failed": 0, "queued": 0, "running": 0}
    assert list(summary["sizes"]) == ["s16", "s32", "s64"]
    params = [entry["params"] for entry in summary["sizes"].values()]
    assert params == sorted(params) and len(set(params)) == 3
    for entry in summary["sizes"].values():
        assert len(entry["trials"]) == 3 and 1e-3 <= entry["optimum_lr"] <= 1e-1
    prediction = summary["prediction"]
    assert prediction["preset"] == "gpt-1m" and prediction["params"] > params[-1]
    law = summary["law"]
    assert prediction["lr"] == pytest.approx(law["coefficient"] * prediction["params"] ** -law["exponent"])
    assert (tmp_path / "lr" / "plots" / "lr_sweep.png").stat().st_size > 1000
    report = inspect_path(tmp_path / "lr")
    assert len(report.tables["optimum per size"].rows) == 3 and len(report.tables["trials"].rows) == 9


@pytest.mark.search_e2e
def test_grid_over_rates_and_batch_sizes_trains_every_pair_and_names_the_best_per_size(mixture, tmp_path):
    path = sweep_file(tmp_path / "lr.yaml", mixture, tmp_path / "lr", kind="hparams", tokens=512,
                      lrs=[1e-3, 1e-2, 1e-1], batch_sizes=[2, 4])
    result = CliRunner().invoke(app, ["search", "hparams", "--config", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "lr" / "summary.json").read_text())

    runs = tmp_path / "lr" / "runs"
    expected = {f"{size}-lr{lr:g}-b{batch}": batch for size in SIZES for lr in (1e-3, 1e-2, 1e-1) for batch in (2, 4)}
    assert {folder.name for folder in runs.iterdir()} == set(expected)
    assert summary["runs"] == {"done": 12, "failed": 0, "queued": 0, "running": 0}
    for run, batch in expected.items():  # same token budget: half the batch, twice the steps
        train = load_train_config(runs / run / "run.yaml")
        assert (train.data.batch_size, train.max_steps) == (batch, 512 // (batch * 32))
    for size, entry in summary["sizes"].items():
        trials = entry["trials"]
        assert len(trials) == 6 and set(entry["per_batch_size"]) == {"2", "4"}
        best_of = {b: min(t["loss"] for t in trials if t["batch_size"] == int(b)) for b in ("2", "4")}
        assert {b: o["best_loss"] for b, o in entry["per_batch_size"].items()} == best_of
        assert entry["batch_size"] == int(min(best_of, key=best_of.get)) == entry["best_run"]["batch_size"]
        assert entry["best_run"]["loss"] == entry["best_loss"] == min(t["loss"] for t in trials)
        assert entry["optimum_lr"] == entry["per_batch_size"][str(entry["batch_size"])]["optimum_lr"]
        assert f"{size} ({entry['params']:,} params): best lr {entry['optimum_lr']:.3g} at batch size " \
               f"{entry['batch_size']}" in result.output
    report = inspect_path(tmp_path / "lr")
    assert [row[2] for row in report.tables["optimum per size"].rows] == [e["batch_size"]
                                                                          for e in summary["sizes"].values()]
    assert len(report.tables["optimum per batch size"].rows) == 4 and len(report.tables["trials"].rows) == 12


@pytest.mark.fault
def test_killed_rate_grid_resumes_only_unfinished_runs_and_writes_the_law(mixture, tmp_path):
    # One worker and a checkpoint every 2 steps (128 tokens each), so the kill lands inside a run.
    path = sweep_file(tmp_path / "lr.yaml", mixture, tmp_path / "lr", kind="hparams", tokens=512,
                      lrs=[1e-3, 1e-2, 1e-1], backend={"kind": "local", "workers": 1},
                      train={**PROXY_TRAIN, "checkpoint": {"every_steps": 2}})
    runs = tmp_path / "lr" / "runs"
    killed = kill_when_one_done_and_one_checkpointed(start_search("hparams", "--config", str(path)), runs)
    finished = finished_results(runs)
    assert killed not in finished and not (tmp_path / "lr" / "summary.json").exists()

    resumed = CliRunner().invoke(app, ["search", "hparams", "--config", str(path), "--resume"])

    assert resumed.exit_code == 0 and "lr_opt = " in resumed.output, resumed.output
    starts = assert_resumed_only_unfinished(runs, finished, killed, num_runs=6)
    assert starts[0].startswith("training from scratch")
    summary = json.loads((tmp_path / "lr" / "summary.json").read_text())
    assert summary["runs"]["done"] == 6 and [len(e["trials"]) for e in summary["sizes"].values()] == [3, 3]


@pytest.mark.search_e2e
def test_optuna_trials_beyond_the_median_rung_are_pruned_and_never_trained_in_full(mixture, tmp_path):
    config = load_hparam_config(sweep_file(tmp_path / "lr.yaml", mixture, tmp_path / "lr", sampler="optuna",
                                           sizes={"s16": {"model": {"d_model": 16}}, "s32": {"model": {"d_model": 32}}},
                                           tokens=512, trials=3, lr_range=[1e-4, 3e-1], rung_fraction=0.5,
                                           backend={"kind": "local", "workers": 1}))
    summary = run_hparam_search(config)

    runs = {folder.name for folder in (tmp_path / "lr" / "runs").iterdir()}
    for size, entry in summary["sizes"].items():
        assert len(entry["trials"]) == 3 and all(f"{size}-t{n:02d}-rung" in runs for n in range(3))
        for trial in entry["trials"]:
            assert (trial["run"] in runs) and trial["pruned"] == trial["run"].endswith("-rung")
            assert (trial["run"].replace("-rung", "") in runs) != trial["pruned"]
        assert 1e-4 <= entry["optimum_lr"] <= 3e-1
    assert any(t["pruned"] for entry in summary["sizes"].values() for t in entry["trials"])
    assert summary["runs"]["done"] == len(runs)


@pytest.mark.fault
def test_killed_optuna_search_replays_its_suggestions_and_runs_only_what_is_left(mixture, tmp_path):
    path = sweep_file(tmp_path / "lr.yaml", mixture, tmp_path / "lr", kind="hparams", sampler="optuna", tokens=1024,
                      trials=3, lr_range=[1e-4, 3e-1], rung_fraction=0.5, backend={"kind": "local", "workers": 1},
                      train={**PROXY_TRAIN, "checkpoint": {"every_steps": 2}})
    runs = tmp_path / "lr" / "runs"
    killed = kill_when_one_done_and_one_checkpointed(start_search("hparams", "--config", str(path)), runs)
    finished = finished_results(runs)

    resumed = CliRunner().invoke(app, ["search", "hparams", "--config", str(path), "--resume"])

    assert resumed.exit_code == 0 and "lr_opt = " in resumed.output, resumed.output
    summary = json.loads((tmp_path / "lr" / "summary.json").read_text())
    trials = [t for entry in summary["sizes"].values() for t in entry["trials"]]
    unpruned = [t for t in trials if not t["pruned"]]
    assert len(trials) == 6 and summary["runs"]["done"] == 6 + len(unpruned)  # 6 rungs, a full run per survivor
    assert_resumed_only_unfinished(runs, finished, killed, num_runs=6 + len(unpruned))
    for trial in trials:  # the same suggestion as before the kill: the runs it reused were trained at that rate
        for run in {trial["run"], trial["run"].removesuffix("-rung") + "-rung"}:
            assert load_train_config(runs / run / "run.yaml").optim.lr == trial["lr"]


def test_plan_values_repeats_and_recommends_preset_and_rate(mixture, tmp_path):
    law = ScalingLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)  # a finished search's fit: Chinchilla's
    (tmp_path / "scaling").mkdir()
    (tmp_path / "lr").mkdir()
    write_json(tmp_path / "scaling" / "summary.json", {"kind": "scaling", "mixture": str(mixture),
                                                       "law": law.as_dict()})
    write_json(tmp_path / "lr" / "summary.json", {"kind": "hparams", "law": {"coefficient": 0.1, "exponent": 0.2}})
    # The sources hold ~8k tokens each: at 1e12 FLOPs the fresh optimum would read them for many epochs.
    result = CliRunner().invoke(app, ["search", "plan", "--compute", "1e12", "--scaling", str(tmp_path / "scaling"),
                                      "--hparams", str(tmp_path / "lr")])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    fresh = next(line for line in lines if line.startswith("fresh tokens"))
    constrained = next(line for line in lines if line.startswith("data-constrained"))
    assert "epochs web" in result.output and "tiny" in fresh and "gpt-1m" in constrained
    assert float(constrained.split()[1]) > float(fresh.split()[2])  # more parameters once repeats are discounted
