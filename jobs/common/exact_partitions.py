"""Send the rows of each task number k to Spark partition k, and only there.

`repartitionByRange` samples the key to choose its bounds, so with few distinct keys two may
share a partition while another stays empty; `repartition(n, key)` places a key at
pmod(murmur3(key, seed 42), n), a hash, so keys collide too. Spark's hash partitioning is the
same `hash` function SQL exposes (HashPartitioning.partitionIdExpression), so for each k we
look up a long whose hash lands on k, route the rows through it, and the shuffle puts task k
alone in partition k.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

CANDIDATES_PER_PARTITION = 64  # a partition goes without a key with probability ~ e^-64


def routing_keys(spark: SparkSession, num_partitions: int) -> list[int]:
    """For each partition k < num_partitions, the smallest long that Spark's hash partitioning
    sends to k (a job over num_partitions * 64 numbers; num_partitions rows reach the driver)."""
    rows = (spark.range(num_partitions * CANDIDATES_PER_PARTITION)
            .groupBy(F.pmod(F.hash("id"), F.lit(num_partitions)).alias("partition"))
            .agg(F.min("id").alias("key")).collect())
    keys = {row["partition"]: row["key"] for row in rows}
    assert len(keys) == num_partitions, f"no routing key for {num_partitions - len(keys)} partitions"
    return [keys[k] for k in range(num_partitions)]


def exactly_partitioned(spark: SparkSession, frame: DataFrame, task: Column, num_partitions: int) -> DataFrame:
    """`frame` shuffled into num_partitions partitions, the rows whose `task` is k in partition k."""
    keys = F.array(*(F.lit(key).cast("long") for key in routing_keys(spark, num_partitions)))
    route = "_exact_partition"
    return frame.withColumn(route, F.element_at(keys, (task + 1).cast("int"))).repartition(num_partitions,
                                                                                           route).drop(route)
