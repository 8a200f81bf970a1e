"""The Spark backend: each proxy run is one Spark task, so the cluster that ran the pipeline runs the search.

The run folders are parallelised one per partition and each task calls `execute_run` on its
folder; the folders must be on a path every executor sees (a shared mount). Only each run's
final status string comes back to the driver; results are read from the folders.

On GPU clusters the tasks ask for a GPU through Spark's resource scheduling: a resource profile
with `gpus_per_task` GPUs per task (the cluster-wide equivalent is
`spark.task.resource.gpu.amount`), executors started with `spark.executor.resource.gpu.amount`
and a discovery script (deploy/search/README.md). A task sees its GPU addresses in
`TaskContext.resources()` and runs on them. Spark retries a task whose executor is lost
(`spark.task.maxFailures`); the retried task resumes the run from its checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

from dataflow.errors import ConfigError
from trainer.search.config import SparkBackend


def run_spark(folders: list[Path], backend: SparkBackend, *, max_attempts: int, progress=None) -> None:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("dataflow-search").getOrCreate()  # master: from spark-submit
    runs = spark.sparkContext.parallelize([str(folder) for folder in folders], numSlices=len(folders))
    if backend.gpus_per_task:
        from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

        requests = TaskResourceRequests().cpus(backend.cpus_per_task).resource("gpu", backend.gpus_per_task)
        runs = runs.withResources(ResourceProfileBuilder().require(requests).build)
    threads = backend.cpus_per_task
    statuses = runs.map(lambda folder: (folder, _run_task(folder, max_attempts, threads))).collect()
    for folder, status in statuses:
        if progress:
            progress(Path(folder), status)


def _run_task(folder: str, max_attempts: int, threads: int) -> str:
    from pyspark import TaskContext

    gpus = (TaskContext.get().resources().get("gpu") if TaskContext.get() else None)
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus.addresses)
    import torch

    torch.set_num_threads(threads)
    from trainer.search.worker import execute_run

    return execute_run(folder, max_attempts)


def check_spark(backend: SparkBackend) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError("backend.kind is spark but pyspark is not installed; pip install pyspark, "
                          "or use backend: {kind: local}") from None
