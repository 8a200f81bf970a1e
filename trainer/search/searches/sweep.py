"""What the scaling, hyper-parameter and variant searches share: one mixture, model sizes, one target.

Each of them trains proxies of several shapes on one mixture file and scores one target;
they differ only in which runs they plan and what they fit. This module turns a (size,
tokens, seed, overrides) point into a `RunSpec` of the engine's run store, counts the point's
parameters, and runs specs through the engine's queue (`engine/runner.py`), as the mixture
search does, so every search resumes and retries the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from dataflow.config import deep_merge, load_yaml
from dataflow.errors import ConfigError
from dataflow.mix.mixture import Mixture, load_mixture
from dataflow.shards import open_split
from trainer.config import PRESETS, load_train_config, preset_names
from trainer.model import GPTConfig
from trainer.search.engine.config import SearchConfig, TargetDataset
from trainer.search.engine.runner import claim_folder, run_specs
from trainer.search.engine.store import RunSpec, RunStore


class SweepConfig(SearchConfig):
    """Fields every search over model sizes on one mixture has."""

    mixture: str
    """Mixture file (`dataflow/mix/mixture.py`) every run trains on; its total_tokens is replaced by each run's
    budget."""
    preset: str = "tiny"
    """Trainer preset every run starts from."""
    train: dict[str, Any] = {}
    """Run-config values laid over the preset for every run (`out_dir`, `max_steps`, `seed` and
    `data.mixture` are set by the search)."""
    sizes: dict[str, dict[str, Any]] = Field(min_length=1)
    """Model sizes by name: run-config values laid over preset and `train`, e.g.
    `s1: {model: {d_model: 64, num_layers: 2}}`; `{}` is the preset's own shape."""
    seeds: int = Field(default=1, gt=0)
    """Runs per point, with different weight-initialisation and data-order seeds."""


@dataclass(frozen=True)
class Point:
    """One planned run."""

    spec: RunSpec
    size: str
    params: int
    """Parameters N of the model (`GPT.num_params`: all but an untied input embedding)."""
    tokens: int
    """Training tokens D: max_steps times tokens per step."""
    max_steps: int


def start(config: SweepConfig, resume: bool, retry_failed: bool = False) -> RunStore:
    """Check the mixture and the target, then claim the search folder (refused without --resume when used)."""
    mixture = _mixture(config)
    for name, entry in config.target.items():
        if not isinstance(entry, TargetDataset) and name not in mixture.sources:
            raise ConfigError(f"target.{name}: not a source of {config.mixture} ({', '.join(mixture.sources)}); "
                              f"name a source, or give {{path: TOKEN_DATASET, weight: {entry}}}")
    if config.preset not in preset_names():
        raise ConfigError(f"preset: unknown preset '{config.preset}'; known presets: {', '.join(preset_names())}")
    store = RunStore(config.out_dir)
    claim_folder(store, config, resume, retry_failed)
    return store


def point(config: SweepConfig, size: str, tokens: int, seed: int, run_id: str, labels: tuple[str, ...] = (),
          overrides: dict[str, Any] | None = None, mixture_path: str | None = None) -> Point:
    """The run of model `size` for `tokens` training tokens (rounded up to whole steps)."""
    for key in ("out_dir", "max_steps", "seed"):
        if key in config.train or key in config.sizes[size]:
            raise ConfigError(f"{key}: set by the search for every run; remove it from train and sizes")
    train = deep_merge(deep_merge(deep_merge(load_yaml(PRESETS / f"{config.preset}.yaml"), config.train),
                                  config.sizes[size]), overrides or {})
    eval_datasets = {name: str(Path(entry.path).resolve()) for name, entry in config.target.items()
                     if isinstance(entry, TargetDataset)}
    train = deep_merge(train, {"preset": config.preset, "eval": {"datasets": eval_datasets}})
    probe = load_train_config(None, deep_merge(train, {"out_dir": ".", "data": {"mixture": "-"}}))
    tokens_per_step = probe.data.batch_size * probe.data.grad_accum_steps * probe.model.seq_len
    max_steps = math.ceil(tokens / tokens_per_step)
    mixture = load_mixture(mixture_path or config.mixture)
    mixture_file = {**mixture.model_dump(mode="json"), "total_tokens": max_steps * tokens_per_step,
                    "seq_len": probe.model.seq_len, "seed": seed,
                    "sources": {name: {**source.model_dump(mode="json"), "path": str(Path(source.path).resolve())}
                                for name, source in mixture.sources.items()}}
    spec = RunSpec(run_id=run_id, mixture=mixture.name, weights=mixture.shares, seed=seed,
                   train={**train, "max_steps": max_steps}, mixture_file=mixture_file, labels=labels)
    return Point(spec=spec, size=size, params=count_params(probe.model, mixture), tokens=max_steps * tokens_per_step,
                 max_steps=max_steps)


def count_params(model: GPTConfig, mixture: Mixture) -> int:
    """N of a model shape on this mixture's vocabulary, built on the meta device (no memory, no compute)."""
    import torch

    from trainer.model import GPT

    first = next(iter(mixture.sources.values()))
    vocab = model.vocab_size or 64 * math.ceil(open_split(first.path, "train").manifest.vocab_size / 64)
    with torch.device("meta"):
        return GPT(model.model_copy(update={"vocab_size": vocab})).num_params()


def run(store: RunStore, config: SweepConfig, points: list[Point], what: str) -> None:
    run_specs(store, config, [p.spec for p in points], what)


def scores(store: RunStore, config: SweepConfig) -> dict[str, dict[str, Any]]:
    """Results-table rows by run id (the table is rebuilt from the run folders)."""
    return {row["run"]: row for row in store.write_table(config.target_weights).to_pylist()}


def mean_over_seeds(points: list[Point], rows: dict[str, dict[str, Any]], key) -> dict[Any, list[float]]:
    """Finished targets grouped by `key(point)`: the seeds of one planned point."""
    grouped: dict[Any, list[float]] = {}
    for p in points:
        row = rows.get(p.spec.run_id)
        if row and row["status"] == "done" and row["target"] is not None and np.isfinite(row["target"]):
            grouped.setdefault(key(p), []).append(row["target"])
    return grouped


def failures(rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {run: row["failure"] for run, row in rows.items() if row["status"] == "failed"}


def statuses(rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    found = [row["status"] for row in rows.values()]
    return {status: found.count(status) for status in ("done", "failed", "queued", "running")}


def _mixture(config: SweepConfig) -> Mixture:
    if not Path(config.mixture).is_file():
        raise ConfigError(f"mixture: {config.mixture} does not exist; give a mixture file (dataflow/mix/mixture.py)")
    return load_mixture(config.mixture)
