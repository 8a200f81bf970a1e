"""The search file: which sources, what to minimise, the final run's budget, the proxies, the backend.

    name: mix1
    out_dir: search/mix1
    sources:
      web:   {path: tokens/web,   max_epochs: 1}
      wiki:  {path: tokens/wiki,  max_epochs: 4}
    target:
      wiki: 0.5                                                   # a source's validation split
      wikitext-test: {path: tokens/wikitext-test, weight: 0.5}    # any token dataset, same tokenizer
    final_run: {total_tokens: 20_000_000_000}
    proxy: {preset: gpt-1m, total_tokens: 2_000_000, seeds: 1}
    candidates: 48
    prior: natural
    backend: {kind: local, workers: 2}

Every field is documented below (its docstring); `dataflow search mixture --dry-run` prints
the resolved file with every default.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from dataflow.config import PositiveFinite, StrictModel, load_config


class SourceLimit(StrictModel):
    """A source the mixtures draw from, and how often the final run may repeat it."""

    path: str
    """Source folder written by `dataflow run tokenize` (`train/` and `validation/` token datasets)."""
    max_epochs: float = Field(default=1.0, gt=0)
    """Most passes over this source's training tokens the final run (and each proxy) may take."""


class TargetDataset(StrictModel):
    """A held-out token dataset in the target, e.g. WikiText-2 test tokenised with the same tokenizer."""

    path: str
    """A token dataset folder, or a source folder whose validation split is used."""
    weight: PositiveFinite
    """Weight of its bits-per-byte in the target (weights are normalised to sum to 1)."""


def positive_weights(entries: dict[str, Any]) -> dict[str, Any]:
    """Refuse weights that are not finite numbers above 0, at load rather than after every proxy has
    trained: a zero target weight divided by zero there, a NaN one gave a NaN fit that still wrote a
    pick, a NaN prior a NaN Dirichlet."""
    bad = {name: weight for name, weight in _weights(entries).items() if not (math.isfinite(weight) and weight > 0)}
    if bad:
        raise ValueError(f"weight {', '.join(f'{name}={weight}' for name, weight in bad.items())}: every weight "
                         "must be a finite number above 0")
    return entries


Target = Annotated[dict[str, float | TargetDataset], AfterValidator(positive_weights)]
"""Bits-per-byte to minimise, weighted: source names or {path, weight} datasets, each weight above 0."""


class FinalRun(StrictModel):
    """The run the picked mixture is for."""

    total_tokens: int = Field(gt=0)
    """Training tokens of the final run: every candidate must be feasible for it (epochs <= max_epochs)."""


class ProxyConfig(StrictModel):
    """The small model trained once per candidate and seed."""

    preset: str = "tiny"
    """Trainer preset (`trainer/presets/`) of the proxies."""
    total_tokens: int = Field(default=200_000, gt=0)
    """Training tokens per proxy run; max_steps is this over the preset's tokens per step, rounded up. The
    default with `tiny` (391 steps, about 50 CPU seconds) had a seed std an eighteenth of the spread of
    three candidates on real sources, better than the same budget at seq_len 128 (docs/search/proxy-recipe.md)."""
    seeds: int = Field(default=1, gt=0)
    """Proxy runs per sampled candidate, with different weight-initialisation and data-order seeds."""
    confirm_seeds: int = Field(default=3, gt=0)
    """Seeds of the confirmation runs (natural, uniform, best sampled, predicted best); 3 or more to
    report a meaningful std."""
    target_tokens: int = Field(default=262_144, gt=0)
    """Tokens of each target dataset scored by every proxy (all of a smaller split), in windows of seq_len, once
    at the end of the run: enough that one run's standard error is about 0.005 bits/byte or less
    (docs/search/proxy-recipe.md has the figures and the cost). `proxy.train` can still set `eval`."""
    train: dict[str, Any] = {}
    """Run-config values laid over the preset for every proxy (e.g. `{optim: {lr: 1e-3}}`); `out_dir`,
    `max_steps`, `seed` and `data.mixture` are set by the search."""


class TransferConfig(StrictModel):
    """Does the proxy rank mixtures as a larger model does (RegMix, Liu et al. 2024, figure 4)? `mixtures`
    candidates spread over the candidates' ranking are trained at a larger proxy, `seeds` seeds each, and with
    as many seeds at the search's proxy; the summary gives Spearman's rho between the two rankings."""

    preset: str = "tiny"
    total_tokens: int = Field(gt=0)
    """Training tokens of each larger run: 4-10x the proxies' compute makes a useful check."""
    train: dict[str, Any] = {}
    """Run-config values laid over the preset (e.g. a wider model), as `proxy.train`."""
    mixtures: int = Field(default=8, ge=3)
    seeds: int = Field(default=2, gt=0)


class LocalBackend(StrictModel):
    """Worker processes on this machine: one run per GPU, or on CPU the cores split between workers."""

    kind: Literal["local"] = "local"
    workers: int | None = Field(default=None, gt=0)
    """Runs at a time; default one per visible GPU, else 1. On CPU each worker gets cores // workers threads."""


class SparkBackend(StrictModel):
    """One Spark task per run (a Spark job over the run list), on the active or a new session."""

    kind: Literal["spark"]
    gpus_per_task: float = Field(default=0, ge=0)
    """GPUs each run's task asks for (`spark.task.resource.gpu.amount` through a resource profile);
    0 on CPU clusters. The executors need a GPU discovery script (deploy/search/README.md)."""
    cpus_per_task: int = Field(default=1, gt=0)
    """Cores each run's task asks for; torch uses that many threads."""


class SlurmBackend(StrictModel):
    """A Slurm job array through submitit; preempted jobs are requeued and resume from checkpoints."""

    kind: Literal["slurm"]
    cluster: Literal["slurm", "local"] = "slurm"
    """`local` runs the same submitit code path in local processes (tests, a machine without Slurm)."""
    partition: str | None = None
    """Slurm partition (`--partition`); None uses the cluster's default."""
    timeout_min: int = Field(default=60, gt=0)
    """Time limit of each array task in minutes; a task reaching it is requeued and resumes."""
    gpus_per_task: int = Field(default=0, ge=0)
    """GPUs per array task."""
    cpus_per_task: int = Field(default=1, gt=0)
    """Cores per array task; torch uses that many threads."""
    max_parallel: int = Field(default=64, gt=0)
    """Array tasks running at once (`--array=...%N`)."""


Backend = Annotated[LocalBackend | SparkBackend | SlurmBackend, Field(discriminator="kind")]


class FitConfig(StrictModel):
    """The regression from weights to score and the search of its surface."""

    surface_samples: int = Field(default=100_000, gt=0)
    """Feasible Dirichlet samples the fitted model scores when looking for the best mixture."""
    refine_rounds: int = Field(default=3, ge=0)
    """Rounds of local refinement around the best-predicted samples."""
    top_k: int = Field(default=32, gt=0)
    """The pick is the mean of the top_k predicted mixtures (RegMix averages its top 100): a fitted
    surface is noisy near its minimum, and a mean of feasible mixtures is feasible."""


class SearchConfig(StrictModel):
    """A data-constraint search: which mixture of these sources trains the best model at this budget."""

    name: str
    """Name of the search, used in run and mixture names."""
    out_dir: str
    """Search folder: runs/, results.parquet, summary.json, plots, best/."""
    sources: dict[str, SourceLimit] = Field(min_length=2)
    """The sources by name, with their repetition limits."""
    target: Target = Field(min_length=1)
    """Bits-per-byte to minimise, weighted: a source name with a weight (its validation split), or a
    name with {path, weight} (any token dataset made with the same tokenizer)."""
    final_run: FinalRun
    """The budget the picked mixture must be feasible for."""
    proxy: ProxyConfig = ProxyConfig()
    """The proxy runs."""
    candidates: int = Field(default=48, ge=3)
    """Mixtures sampled and trained as proxies; at least 3, as the fit's leave-one-out needs 3 scored
    mixtures (`regression.fit_surface`)."""
    prior: Literal["natural"] | dict[str, float] = "natural"
    """Centre of the sampling: `natural` (each source's share of all training tokens) or weights by source."""
    concentrations: list[PositiveFinite] = Field(default=[0.3, 1.0, 3.0, 10.0], min_length=1)
    """Dirichlet concentrations, taken in turn: alpha = c * K * prior. c = 1 with a uniform prior is
    uniform on the simplex; small c gives extreme mixtures, large c mixtures near the prior."""
    seed: int = 0
    """Seed of the candidate sampling and the surface search."""
    max_attempts: int = Field(default=2, gt=0)
    """Tries per run (resuming from its checkpoint) before it is recorded as failed with its reason."""
    backend: Backend = LocalBackend()
    """Where the runs execute: local, spark or slurm."""
    fit: FitConfig = FitConfig()
    """Regression and surface search."""
    transfer: TransferConfig | None = None
    """Off by default: the rank-transfer check, run after the confirmations (its runs cost the most)."""

    @field_validator("prior")
    @classmethod
    def _prior_weights_are_positive(cls, value: Any) -> Any:
        return positive_weights(value) if isinstance(value, dict) else value

    @property
    def target_weights(self) -> dict[str, float]:
        """Evaluated dataset name -> weight in the target, normalised to sum to 1."""
        weights = _weights(self.target)
        total = sum(weights.values())
        return {name: weight / total for name, weight in weights.items()}


def _weights(entries: dict[str, Any]) -> dict[str, float]:
    """Weight by name, of plain numbers and of entries with a `weight` (TargetDataset)."""
    return {name: entry if isinstance(entry, float | int) else entry.weight for name, entry in entries.items()}


def load_search_config(path: str | Path) -> SearchConfig:
    return load_config(SearchConfig, path)
