"""The Slurm backend: one job array through submitit (https://github.com/facebookincubator/submitit).

Each array task runs one proxy (`execute_run` on its folder). `RunTask` is Checkpointable:
when Slurm preempts a task or it reaches its time limit, submitit requeues the same call,
and the run resumes from its newest complete checkpoint; the requeued try is recorded in the
run's history and does not count as failed (the scheduler took the slot; submitit bounds the
requeues after time limits itself). A job that ends otherwise under its run (the OOM killer, a
node failure, `scancel`) is recorded as a failed try naming the job's state, counted toward
`max_attempts`, and submitted again while the run has tries left; the other jobs go on.
`cluster: local` runs the same code path in local processes (submitit's LocalExecutor), which is
how the tests run it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import submitit

from dataflow.errors import ConfigError
from trainer.search.engine.config import SlurmBackend
from trainer.search.engine.store import read_state, write_state
from trainer.search.engine.worker import execute_run, record_lost_try


class RunTask(submitit.helpers.Checkpointable):
    """A picklable call; on preemption `checkpoint` (inherited) resubmits it with the same folder."""

    def __init__(self, max_attempts: int, threads: int):
        self.max_attempts, self.threads = max_attempts, threads

    def __call__(self, folder: str) -> str:
        import torch

        torch.set_num_threads(self.threads)
        return execute_run(folder, self.max_attempts)

    def checkpoint(self, folder: str) -> submitit.helpers.DelayedSubmission:
        """Slurm preempts the job or its time limit is near: note the try as requeued, then requeue."""
        state = read_state(Path(folder))
        if state.status == "running":
            state.status = "queued"
            state.history.append(f"try {state.attempts}: requeued by Slurm (preempted or at its time limit)")
            write_state(Path(folder), state)
        return super().checkpoint(folder)


def run_slurm(folders: list[Path], backend: SlurmBackend, *, max_attempts: int, work_dir: Path,
              progress=None) -> None:
    executor = submitit.AutoExecutor(folder=work_dir / "submitit" / "%j", cluster=backend.cluster)
    executor.update_parameters(timeout_min=backend.timeout_min, cpus_per_task=backend.cpus_per_task,
                               gpus_per_node=backend.gpus_per_task, tasks_per_node=1, nodes=1,
                               slurm_array_parallelism=backend.max_parallel,
                               **({"slurm_partition": backend.partition} if backend.partition else {}))
    task = RunTask(max_attempts, backend.cpus_per_task)
    jobs = dict(zip(executor.map_array(task, [str(folder) for folder in folders]), folders))
    while jobs:
        job = next(iter(jobs))
        folder = jobs.pop(job)
        try:
            status = job.result()  # execute_run records the run's own failures; an error here is the job's
        except (submitit.core.utils.FailedJobError, submitit.core.utils.UncompletedJobError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            status = record_lost_try(folder, f"Slurm job {job.job_id} ended {job.state}: {reason[:300]}", max_attempts)
            if status == "queued":
                jobs[executor.submit(task, str(folder))] = folder
                continue
        if progress:
            progress(folder, status)


def check_slurm(backend: SlurmBackend) -> None:
    if backend.cluster == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError("backend.kind is slurm but `sbatch` is not on PATH (no Slurm here); run on a Slurm "
                          "login node, or set backend.cluster: local to run the array in local processes")
