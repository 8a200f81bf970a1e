"""Backends: run a list of run folders on a scheduler; results are read back from the folders.

Every backend calls `trainer.search.engine.worker.execute_run(folder, max_attempts)` once per run and
nothing else, so a run behaves the same wherever it executes; what differs is who schedules
it. `check` refuses, before any run starts, a backend that is not installed or not reachable.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from dataflow.errors import ConfigError
from trainer.search.engine.config import LocalBackend, SlurmBackend, SparkBackend

Progress = Callable[[Path, str], None]
"""Called with (run folder, final status) as runs finish, where the backend can tell."""


def run_all(folders: list[Path], backend: LocalBackend | SparkBackend | SlurmBackend, *, max_attempts: int,
            work_dir: Path, progress: Progress | None = None) -> None:
    """Run every folder to done or failed."""
    if not folders:
        return
    if backend.kind == "local":
        from trainer.search.engine.backends.local import run_local
        run_local(folders, backend, max_attempts=max_attempts, progress=progress)
    elif backend.kind == "spark":
        from trainer.search.engine.backends.spark import run_spark
        run_spark(folders, backend, max_attempts=max_attempts, progress=progress)
    else:
        from trainer.search.engine.backends.slurm import run_slurm
        run_slurm(folders, backend, max_attempts=max_attempts, work_dir=work_dir, progress=progress)


def check(backend: LocalBackend | SparkBackend | SlurmBackend) -> None:
    """Raise a one-line ConfigError when the backend cannot run here."""
    if backend.kind == "spark":
        from trainer.search.engine.backends.spark import check_spark
        check_spark(backend)
    elif backend.kind == "slurm":
        if importlib.util.find_spec("submitit") is None:
            raise ConfigError("backend.kind is slurm but submitit is not installed; pip install submitit==1.5.4")
        from trainer.search.engine.backends.slurm import check_slurm
        check_slurm(backend)
