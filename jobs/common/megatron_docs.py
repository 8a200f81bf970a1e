"""`tokenize --megatron`: every shard's Megatron files written by Spark tasks, a shard per task
(dataflow/tokenize/megatron_docs.py), so no token passes the driver."""

from __future__ import annotations

import functools

from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from dataflow.shards import ShardEntry
from dataflow.tokenize.megatron_docs import SHARD_SCHEMA, WRITTEN_SCHEMA, megatron_batches


def write_megatron(spark: SparkSession, directory: str, shards: dict[str, list[ShardEntry]], vocab_size: int) -> dict:
    """Megatron files of every shard of every split under `directory`; documents written per split."""
    rows = [(split, entry.file, entry.index_file) for split, entries in shards.items() for entry in entries]
    if not rows:
        return {}
    write = functools.partial(megatron_batches, directory=directory, vocab_size=vocab_size)
    written = (spark.createDataFrame(rows, from_arrow_schema(SHARD_SCHEMA)).repartition(len(rows))
               .mapInArrow(write, from_arrow_schema(WRITTEN_SCHEMA)).collect())  # one row per shard
    return {split: sum(row["documents"] for row in written if row["split"] == split) for split in shards}
