"""The search in layers (docs/search/layers.md): what crosses the layers, and the folders of older
versions still reading back through the moved code."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from search_sources import search_file, write_sources

import cli
from cli.search import sync_kind_commands
from dataflow.inspect import inspect_path
from trainer.search.engine.config import SearchConfig
from trainer.search.engine.layout import CONFIG_COPY, RUNS_DIR, SUMMARY
from trainer.search.engine.runner import claim_folder
from trainer.search.engine.store import RunStore, write_json
from trainer.search.registry import KINDS, KindCode, SearchKind
from trainer.search.searches.mixture_config import load_mixture_config

SEARCH = Path(__file__).resolve().parents[2] / "trainer" / "search"
LOWER = {"engine": set(), "fits": set(), "reports": {"engine", "fits"}, "searches": {"engine", "fits", "reports"}}
"""Layer -> the layers it may import (besides itself); registry.py sits on top of all four."""


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """The `from trainer.search... import` lines of a module, but those under `if TYPE_CHECKING:` (types only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for node in ast.walk(block)}
    return [(node.module, [alias.name for alias in node.names]) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trainer.search")
            and id(node) not in typing_only]


def test_no_layer_imports_a_higher_one_or_a_private_name():
    wrong = []
    for layer, allowed in LOWER.items():
        for path in sorted((SEARCH / layer).rglob("*.py")):
            for module, names in _imports(path):
                parts = module.split(".")
                target = parts[2] if len(parts) > 2 else "trainer.search"
                if target != layer and target not in allowed:
                    wrong.append(f"{path.relative_to(SEARCH)} imports {module}")
                wrong += [f"{path.relative_to(SEARCH)} imports {module}.{name}" for name in names
                          if name.startswith("_")]
    assert wrong == []


def test_a_search_folder_of_a_kind_without_a_view_shows_its_plain_summary(tmp_path):
    (tmp_path / RUNS_DIR).mkdir()
    (tmp_path / CONFIG_COPY).write_text("kind: fifth\n")
    (tmp_path / SUMMARY).write_text(json.dumps({"kind": "fifth", "name": "f1", "runs": {"done": 1},
                                                "failures": {"r-s0": "RuntimeError: boom"}}))
    report = inspect_path(tmp_path)
    assert report.kind == "search" and report.summary["name"] == "f1"
    assert report.tables["failed runs"].rows == [["r-s0", "RuntimeError: boom"]]


def test_a_mixture_summary_of_leave_one_out_days_still_reads(tmp_path):
    (tmp_path / RUNS_DIR).mkdir()
    (tmp_path / CONFIG_COPY).write_text("name: old\n")
    entry = {"mixture": "natural", "seeds": 2, "target": [1.5, 0.01], "bits_per_byte": {"wiki": [1.4, 0.02]}}
    (tmp_path / SUMMARY).write_text(json.dumps({
        "name": "old", "runs": {"done": 8}, "failures": {}, "target": {"wiki": 1.0},
        "candidates": {"sampled": 6, "rejected_draws": 0, "seeds": 1, "scored": 6},
        "budget": {"final_run_tokens": 40000, "proxy_tokens": 1024, "proxy_preset": "tiny", "proxy_steps": 8},
        "fit": {"chosen": "linear", "models": {"linear": {"loo_mae": 0.1, "loo_rmse": 0.2, "loo_spearman": 0.5}},
                "points": [], "predicted_target_of_pick": 1.45},
        "pick": {"wiki": 0.7, "books": 0.3}, "best_sampled": "c001", "comparison": {"natural": entry},
        "verdicts": ["the pick does NOT beat natural"],
        "constraint": {"wiki": {"available_tokens": 9000, "max_epochs": 3, "max_share": 0.6, "epochs_pick": 2.9}}}))
    report = inspect_path(tmp_path)
    assert report.summary["fit"] == "linear (chosen by leave-one-out Spearman)"
    assert report.tables["fit (leave-one-out)"].rows == [["linear", 0.1, 0.2, 0.5]]


def test_a_resume_accepts_the_search_yaml_of_a_folder_whose_fields_came_in_another_order(tmp_path):
    """The base config put name, out_dir, target, max_attempts and backend first; a folder started before
    wrote the same values in another order, and resumes."""
    sources = write_sources(tmp_path / "sources")
    config = load_mixture_config(search_file(tmp_path / "search.yaml", sources, tmp_path / "out"))
    folder = Path(config.out_dir)
    folder.mkdir()
    dumped = config.model_dump(mode="json")
    (folder / CONFIG_COPY).write_text(yaml.safe_dump(dict(reversed(dumped.items())), sort_keys=False))
    claim_folder(RunStore(folder), config, resume=True)
    assert yaml.safe_load((folder / CONFIG_COPY).read_text()) == dumped


class CountConfig(SearchConfig):
    """A fifth kind, made up by the test: a search of no runs that adds 1..`up_to`."""

    kind: Literal["count"] = "count"
    up_to: int = 3


def run_count_search(config: CountConfig, resume: bool = False, retry_failed: bool = False) -> dict[str, Any]:
    claim_folder(RunStore(Path(config.out_dir)), config, resume, retry_failed)
    summary = {"kind": "count", "name": config.name, "runs": {"done": 0}, "failures": {},
               "total": sum(range(config.up_to + 1))}
    write_json(Path(config.out_dir) / SUMMARY, summary)
    return summary


def count_outcome(config: CountConfig, summary: dict[str, Any]) -> list[str]:
    return [f"total {summary['total']}; report: dataflow inspect {config.out_dir}"]


COUNT = SearchKind("Add the numbers up to up_to: a kind of the test.", "count search file (YAML)",
                   lambda: KindCode(CountConfig, run_count_search, count_outcome))


@pytest.fixture
def count_kind(monkeypatch):
    """The kind in the registry for one test; then out of it, and its command out of the CLI's app."""
    monkeypatch.setitem(KINDS, "count", COUNT)
    yield
    monkeypatch.undo()
    sync_kind_commands()


def test_a_kind_added_to_the_registry_alone_gets_its_search_command(count_kind, tmp_path, capsys):
    path = tmp_path / "count.yaml"
    path.write_text(yaml.safe_dump({"kind": "count", "name": "c1", "out_dir": str(tmp_path / "out"),
                                    "target": {"web": 1.0}, "up_to": 4}))

    assert cli.main(["search", "--help"]) == 0
    assert "Add the numbers up to up_to" in capsys.readouterr().out
    assert cli.main(["search", "count", "--config", str(path)]) == 0
    assert capsys.readouterr().out == f"total 10; report: dataflow inspect {tmp_path / 'out'}\n"
    assert json.loads((tmp_path / "out" / SUMMARY).read_text())["total"] == 10
    assert cli.main(["search", "status", str(tmp_path / "out")]) == 0  # reads the kind back from search.yaml
    assert "0 runs" in capsys.readouterr().out
    assert cli.main(["search", "count", "--config", str(path), "--dry-run"]) == 2  # the kind has no --dry-run


def test_a_kind_named_like_a_search_command_is_refused_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(KINDS, "status", COUNT)
    assert cli.main(["search", "--help"]) == 2
    assert "search kind 'status' has the name of a `dataflow search` command" in capsys.readouterr().err
