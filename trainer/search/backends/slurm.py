"""The Slurm backend: one job array through submitit (https://github.com/facebookincubator/submitit).

Each array task runs one proxy (`execute_run` on its folder). `RunTask` is Checkpointable:
when Slurm preempts a task or it reaches its time limit, submitit requeues the same call,
and the run resumes from its newest complete checkpoint. `cluster: local` runs the same
code path in local processes (submitit's LocalExecutor), which is how the tests run it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import submitit

from dataflow.errors import ConfigError
from trainer.search.config import SlurmBackend
from trainer.search.worker import execute_run


class RunTask(submitit.helpers.Checkpointable):
    """A picklable call; on preemption `checkpoint` (inherited) resubmits it with the same folder."""

    def __init__(self, max_attempts: int, threads: int):
        self.max_attempts, self.threads = max_attempts, threads

    def __call__(self, folder: str) -> str:
        import torch

        torch.set_num_threads(self.threads)
        return execute_run(folder, self.max_attempts)


def run_slurm(folders: list[Path], backend: SlurmBackend, *, max_attempts: int, work_dir: Path,
              progress=None) -> None:
    executor = submitit.AutoExecutor(folder=work_dir / "submitit" / "%j", cluster=backend.cluster)
    executor.update_parameters(timeout_min=backend.timeout_min, cpus_per_task=backend.cpus_per_task,
                               gpus_per_node=backend.gpus_per_task, tasks_per_node=1, nodes=1,
                               slurm_array_parallelism=backend.max_parallel,
                               **({"slurm_partition": backend.partition} if backend.partition else {}))
    jobs = executor.map_array(RunTask(max_attempts, backend.cpus_per_task), [str(folder) for folder in folders])
    for folder, job in zip(folders, jobs):
        status = job.result()  # execute_run records failures itself; an error here is the scheduler's
        if progress:
            progress(folder, status)


def check_slurm(backend: SlurmBackend) -> None:
    if backend.cluster == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError("backend.kind is slurm but `sbatch` is not on PATH (no Slurm here); run on a Slurm "
                          "login node, or set backend.cluster: local to run the array in local processes")
