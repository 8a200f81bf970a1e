"""The Spark backend: each proxy run is one Spark task, so the cluster that ran the pipeline runs the search.

The run folders are parallelised one per partition and each task calls `execute_run` on its
folder; the folders must be on a path every executor sees: a shared mount, or an object store
(`out_dir: s3://...`, each task then trains in a local scratch folder, worker.py). Only each run's
final status string comes back to the driver; results are read from the folders.

On GPU clusters the tasks ask for a GPU through Spark's resource scheduling: a resource profile
with `gpus_per_task` GPUs per task (the cluster-wide equivalent is
`spark.task.resource.gpu.amount`), executors started with `spark.executor.resource.gpu.amount`
and a discovery script (deploy/search/README.md). A task sees its GPU addresses in
`TaskContext.resources()` and runs on them.

A lost try costs the run one try, and only that run. Each run is its own one-task Spark job,
submitted from its own driver thread, so a failed task aborts only its own job. Spark retries a
task whose executor was lost (`spark.task.maxFailures`): the retried task finds the run still
marked running by the lost one and records that try as failed before it starts (counted toward
`max_attempts`, then resuming from the checkpoint); a job that Spark gives up on (its task failed
`maxFailures` times, e.g. its Python worker killed by the OOM killer) is recorded the same way by
the driver, which submits the run again while it has tries left.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from dataflow.errors import ConfigError
from dataflow.object_store import as_path
from trainer.search.engine.config import SparkBackend
from trainer.search.engine.store import read_state
from trainer.search.engine.worker import execute_run, record_lost_try


def run_spark(folders: list[Path], backend: SparkBackend, *, max_attempts: int, progress=None) -> None:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("dataflow-search").getOrCreate()  # master: from spark-submit
    context = spark.sparkContext
    profile = None
    if backend.gpus_per_task:
        from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

        requests = TaskResourceRequests().cpus(backend.cpus_per_task).resource("gpu", backend.gpus_per_task)
        profile = ResourceProfileBuilder().require(requests).build
    threads = backend.cpus_per_task

    def run_one(folder: Path) -> str:
        while True:
            runs = context.parallelize([str(folder)], numSlices=1)
            runs = runs.withResources(profile) if profile is not None else runs
            try:
                return runs.map(lambda path: _run_task(path, max_attempts, threads)).collect()[0]
            except Exception as err:  # noqa: BLE001 - the job failed: its task's try is lost, not the search
                status = record_lost_try(folder, f"Spark job failed: {_reason(err)}", max_attempts)
                if status != "queued":
                    return status

    # As many jobs in flight as the cluster has cores (at least 8): Spark queues the tasks beyond its slots.
    with ThreadPoolExecutor(max_workers=min(len(folders), max(8, context.defaultParallelism))) as pool:
        futures = {pool.submit(run_one, folder): folder for folder in folders}
        for future in as_completed(futures):
            status = future.result()
            if progress:
                progress(futures[future], status)


def _run_task(folder: str, max_attempts: int, threads: int) -> str:
    from pyspark import TaskContext

    task = TaskContext.get()
    if task is not None and task.attemptNumber() > 0 and read_state(as_path(folder)).status == "running":
        status = record_lost_try(as_path(folder), f"Spark task attempt {task.attemptNumber() - 1} lost "
                                 "(its executor or Python worker died)", max_attempts)
        if status == "failed":
            return status
    gpus = task.resources().get("gpu") if task is not None else None
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus.addresses)
    import torch

    torch.set_num_threads(threads)
    return execute_run(folder, max_attempts)


def _reason(err: Exception) -> str:
    """The task's own failure out of a Py4J error's Java stack trace (its first line names only the call)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
    aborted = next((line for line in lines if "Job aborted" in line), lines[0])
    return aborted.split("most recent failure: ", 1)[-1][:300]


def check_spark(backend: SparkBackend) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError("backend.kind is spark but pyspark is not installed; pip install pyspark, "
                          "or use backend: {kind: local}") from None
