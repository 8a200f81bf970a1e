"""What every search file has: a name, a folder, a target to minimise, and the backend its runs execute on.

`SearchConfig` is the base every search's config extends (the mixture search's `MixtureConfig`, the
sweeps' `SweepConfig`); the engine reads only these fields: `out_dir` to claim the folder, `backend`
and `max_attempts` to run the queue, `target_weights` to score each run in the results table.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from dataflow.config import PositiveFinite, StrictModel
from dataflow.object_store import is_store


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
    bad = {name: weight for name, weight in weights_of(entries).items() if not (math.isfinite(weight) and weight > 0)}
    if bad:
        raise ValueError(f"weight {', '.join(f'{name}={weight}' for name, weight in bad.items())}: every weight "
                         "must be a finite number above 0")
    return entries


Target = Annotated[dict[str, float | TargetDataset], AfterValidator(positive_weights)]
"""Bits-per-byte to minimise, weighted: source names or {path, weight} datasets, each weight above 0."""


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


class SearchConfig(StrictModel):
    """Fields every search file has; each search's config extends this class."""

    name: str
    """Name of the search, used in run names."""
    out_dir: str
    """Search folder: runs/, results.parquet, summary.json, plots/ (engine/layout.py names every file). The
    mixture search also takes an object-store URL (s3://bucket/search, any fsspec store) on the local and
    spark backends: each run then trains in a local scratch folder, its checkpoints on the store."""
    target: Target = Field(min_length=1)
    """Bits-per-byte to minimise, weighted: a source name with a weight (its validation split), or a
    name with {path, weight} (any token dataset made with the same tokenizer, e.g. WikiText-2 test)."""
    max_attempts: int = Field(default=2, gt=0)
    """Tries per run (resuming from its checkpoint) before it is recorded as failed with its reason."""
    backend: Backend = LocalBackend()
    """Where the runs execute: local, spark or slurm."""

    ADDABLE_ON_RESUME: ClassVar[tuple[str, ...]] = ()
    """Fields a `--resume` may add or change: checks that only add runs of new run ids (the store refuses
    a changed spec under an existing id), e.g. the mixture search's rank-transfer check."""

    STORE_OUT_DIR: ClassVar[bool] = False
    """Whether out_dir may be an object-store URL: the search writes its folder only through the run store
    and `dataflow.atomic` (the mixture search); the others write local files there."""

    @model_validator(mode="after")
    def _out_dir_on_a_store(self) -> SearchConfig:
        if not is_store(self.out_dir):
            return self
        if not self.STORE_OUT_DIR:
            raise ValueError(f"out_dir {self.out_dir}: this search kind needs a local or shared folder; an "
                             "object-store out_dir works for `dataflow search mixture`")
        if self.backend.kind == "slurm":
            raise ValueError(f"out_dir {self.out_dir}: the slurm backend needs a folder every node mounts (submitit "
                             "keeps its job files there); use a shared folder, or backend kind local or spark")
        return self

    def planning(self) -> dict[str, Any]:
        """What a resumed search must share with the one it resumes: the config, less ADDABLE_ON_RESUME."""
        return self.planning_of(self.model_dump(mode="json"))

    @classmethod
    def planning_of(cls, resolved: dict[str, Any]) -> dict[str, Any]:
        """`planning` of a config given as its JSON-mode dump (a folder's search.yaml, as read back): the one
        place that leaves out the fields a resume may change."""
        return {key: value for key, value in resolved.items() if key not in cls.ADDABLE_ON_RESUME}

    @property
    def target_weights(self) -> dict[str, float]:
        """Evaluated dataset name -> weight in the target, normalised to sum to 1."""
        weights = weights_of(self.target)
        total = sum(weights.values())
        return {name: weight / total for name, weight in weights.items()}


def weights_of(entries: dict[str, Any]) -> dict[str, float]:
    """Weight by name, of plain numbers and of entries with a `weight` (TargetDataset)."""
    return {name: entry if isinstance(entry, float | int) else entry.weight for name, entry in entries.items()}
