"""Every search file in examples/search/ runs, at the smallest budgets, on the sample pipeline's sources.

The sources are those of the session's `pipeline_from_config` run (examples/sample-pipeline.yaml on
160 sample pages: English and German token sources). Each example is read as committed, its
paths moved under the test's folder and its token budgets cut to a few `tiny` proxy steps, so a
field renamed in a config model, a search that stopped accepting the file, or an example that no
longer validates fails here. What a search computes is tested in tests/trainer/test_search_*.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import cli

EXAMPLES = Path(__file__).parents[1] / "examples"
STEP = 512  # tokens per step of the `tiny` preset (8 sequences of 64)
FEW_STEPS = {"eval": {"every_steps": 0, "num_sequences": 4}, "checkpoint": {"every_steps": 2},
             "log": {"every_steps": 2, "tensorboard": False}, "device": "cpu"}
"""Run-config values laid over the preset for the test: no periodic evaluation, frequent checkpoints."""

SMALLEST: dict[str, dict[str, Any]] = {
    "mixture": {"candidates": 3, "final_run": {"total_tokens": 4 * STEP}, "fit": {"surface_samples": 500},
                "proxy": {"preset": "tiny", "total_tokens": 2 * STEP, "confirm_seeds": 1, "train": FEW_STEPS}},
    "scaling": {"tokens": [STEP, 2 * STEP, 3 * STEP], "bootstrap_samples": 5, "train": FEW_STEPS},  # 6 runs
    "variants": {"base_tokens": 2 * STEP, "branch_tokens": STEP, "train": FEW_STEPS},
    "hparams": {"tokens": 2 * STEP, "train": FEW_STEPS},
}
"""Per search kind, the fields the test replaces to keep the search to a few runs of a few steps."""


def _moved(example: dict[str, Any], kind: str, sources: Path, root: Path) -> dict[str, Any]:
    """The example with its paths under `root` (sources from `sources`) and its smallest budgets."""
    config = {**example, **SMALLEST[kind], "out_dir": str(root / kind)}
    if kind == "mixture":
        config["sources"] = {name: {**entry, "path": str(sources / name)} for name, entry in example["sources"].items()}
    else:
        mixture = yaml.safe_load((EXAMPLES.parent / example["mixture"]).read_text())
        mixture["sources"] = {name: {**entry, "path": str(sources / name)} for name,
                              entry in mixture["sources"].items()}
        (root / "mixture.yaml").write_text(yaml.safe_dump(mixture))
        config["mixture"] = str(root / "mixture.yaml")
    return config


@pytest.mark.search_e2e
@pytest.mark.parametrize("kind", list(SMALLEST))
def test_example_search_file_runs_on_the_sample_sources(kind, pipeline_from_config, tmp_path):
    example = yaml.safe_load((EXAMPLES / "search" / f"{kind}.yaml").read_text())
    config = tmp_path / f"{kind}.yaml"
    config.write_text(yaml.safe_dump(_moved(example, kind, pipeline_from_config.parent / "out" / "tokens", tmp_path)))

    assert cli.main(["search", kind, "--config", str(config)]) == 0
    summary = yaml.safe_load((tmp_path / kind / "summary.json").read_text())
    assert summary["runs"]["failed"] == 0 and summary["runs"]["done"] > 0


def test_every_search_kind_has_an_example_file():
    assert {path.stem for path in (EXAMPLES / "search").glob("*.yaml")} - {"sample-mixture"} == set(SMALLEST)
