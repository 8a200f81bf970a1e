"""Variant search by branching: one WSD base run per size, decay branches per variant and a control."""

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
from sweep_files import mixture_file, sweep_file
from typer.testing import CliRunner

from cli import app
from dataflow.errors import ConfigError
from dataflow.inspect import inspect_path
from trainer.config import load_train_config
from trainer.metrics import read_jsonl
from trainer.search.searches.variants import load_variant_config, run_variant_search


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("variant-sources"))


@pytest.mark.search_e2e
def test_branches_from_one_base_report_gains_noise_shared_compute_and_rank_transfer(sources, tmp_path):
    mixture = mixture_file(tmp_path / "mix.yaml", sources)
    config = load_variant_config(sweep_file(
        tmp_path / "variants.yaml", mixture, tmp_path / "variants", base_tokens=1024, branch_tokens=256,
        variants={"wiki-heavy": {"weights": {"wiki": 0.8, "web": 0.1, "books": 0.1}},
                  "no-books": {"mixture": str(mixture_file(tmp_path / "nobooks.yaml", sources,
                                                           {"web": 0.6, "wiki": 0.2, "books": 0.2}))}}))
    summary = run_variant_search(config)

    # per size: 1 base, then (control + 2 variants) x 2 seeds
    assert summary["runs"] == {"done": 14, "failed": 0, "queued": 0, "running": 0}
    assert summary["shared_compute"] == pytest.approx(1024 / (1024 + 256))
    branch = tmp_path / "variants" / "runs" / "s16-wiki-heavy-s1"
    train = load_train_config(branch / "run.yaml")
    assert train.checkpoint.init_from.endswith("runs/s16-base") and train.optim.decay_frac == 1.0
    assert any("branched from" in event.get("message", "") for event in read_jsonl(branch / "events.jsonl"))
    assert load_train_config(tmp_path / "variants" / "runs" / "s16-base" / "run.yaml").optim.decay_frac == 0.0
    entries = {e["variant"]: e for e in summary["variants"]}
    assert set(entries) == {f"{size}/{name}" for size in ("s16", "s32") for name in ("control", "wiki-heavy",
                                                                                     "no-books")}
    for entry in entries.values():
        assert entry["seeds"] == 2
        if entry["name"] != "control":
            control = entries[f"{entry['size']}/control"]
            assert entry["delta"] == pytest.approx(entry["target"][0] - control["target"][0])
            assert entry["delta_std"] >= 0 and entry["verdict"]
    assert -1 <= summary["rank_transfer"]["spearman"] <= 1
    assert (tmp_path / "variants" / "plots" / "variant_gains.png").stat().st_size > 1000
    report = inspect_path(tmp_path / "variants")
    assert len(report.tables["variants"].rows) == 6 and "compute shared" in report.summary


def test_variant_naming_an_unknown_source_is_refused(sources, tmp_path):
    mixture = mixture_file(tmp_path / "mix.yaml", sources)
    config = load_variant_config(sweep_file(tmp_path / "v.yaml", mixture, tmp_path / "v", base_tokens=512,
                                            branch_tokens=128, variants={"x": {"weights": {"news": 0.5}}}))
    with pytest.raises(ConfigError, match=r"variants.x: news not a source of .*mix.yaml \(books, web, wiki\)"):
        run_variant_search(config)


def test_variant_replacing_a_source_the_target_scores_is_refused(sources, tmp_path):
    mixture = mixture_file(tmp_path / "mix.yaml", sources)
    config = load_variant_config(sweep_file(tmp_path / "v.yaml", mixture, tmp_path / "v", base_tokens=512,
                                            branch_tokens=128,
                                            variants={"x": {"sources": {"wiki": str(sources["web"])}}}))
    with pytest.raises(ConfigError, match=r"variants.x replaces wiki, which the target scores by its own validation"):
        run_variant_search(config)
    assert not (tmp_path / "v" / "runs").exists()


@pytest.mark.fault
def test_killed_variant_search_resumes_only_unfinished_branches_from_their_own_checkpoints(sources, tmp_path):
    # One size, one worker, a checkpoint every 2 steps: the base finishes, then the kill lands inside a branch.
    path = sweep_file(tmp_path / "variants.yaml", mixture_file(tmp_path / "mix.yaml", sources), tmp_path / "variants",
                      kind="variants", base_tokens=1024, branch_tokens=512, sizes={"s16": {"model": {"d_model": 16}}},
                      variants={"wiki-heavy": {"weights": {"wiki": 0.8, "web": 0.1, "books": 0.1}}},
                      backend={"kind": "local", "workers": 1}, train={**PROXY_TRAIN, "checkpoint": {"every_steps": 2}})
    runs = tmp_path / "variants" / "runs"
    killed = kill_when_one_done_and_one_checkpointed(start_search("variants", "--config", str(path)), runs)
    finished = finished_results(runs)
    assert "s16-base" in finished and killed != "s16-base"
    assert not (tmp_path / "variants" / "summary.json").exists()

    resumed = CliRunner().invoke(app, ["search", "variants", "--config", str(path), "--resume"])

    assert resumed.exit_code == 0 and "compute shared with the base" in resumed.output, resumed.output
    starts = assert_resumed_only_unfinished(runs, finished, killed, num_runs=5)  # base + (control + 1) x 2 seeds
    assert starts[0].startswith("training branched from") and "runs/s16-base" in starts[0]
    summary = json.loads((tmp_path / "variants" / "summary.json").read_text())
    assert summary["runs"]["done"] == 5 and [e["seeds"] for e in summary["variants"]] == [2, 2]


@pytest.mark.slow
def test_no_branch_starts_from_a_failed_base(sources, tmp_path, caplog):
    """The s32 base diverges (a learning rate of 1e30: every loss after the first step is not finite) and fails;
    s16's branches run, s32's are never started, and the summary names the failed base."""
    mixture = mixture_file(tmp_path / "mix.yaml", sources)
    config = load_variant_config(sweep_file(
        tmp_path / "variants.yaml", mixture, tmp_path / "variants", base_tokens=1024, branch_tokens=256, max_attempts=1,
        sizes={"s16": {"model": {"d_model": 16}}, "s32": {"model": {"d_model": 32}, "optim": {"lr": 1e30}}},
        variants={"wiki-heavy": {"weights": {"wiki": 0.8, "web": 0.1, "books": 0.1}}}))
    summary = run_variant_search(config)
    runs = tmp_path / "variants" / "runs"
    assert sorted(folder.name for folder in runs.iterdir() if folder.name.startswith("s32")) == ["s32-base"]
    assert list(summary["failures"]) == ["s32-base"]
    assert summary["runs"] == {"done": 5, "failed": 1, "queued": 0, "running": 0}
    assert "base run s32-base is failed" in caplog.text
    assert {e["variant"]: e["seeds"] for e in summary["variants"]} == {
        "s16/control": 2, "s16/wiki-heavy": 2, "s32/control": 0, "s32/wiki-heavy": 0}
