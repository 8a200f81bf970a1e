"""The decontaminate job's benchmark index, built by Spark executors from the benchmark files.

The driver lists the files; each task reads one and n-grams its items
(dataflow/decontaminate/index_parts.py); Spark then does what `ngram_index.build_index` does
with arrays: drops n-grams held by more than `max_items_per_ngram` items and those of common
phrases. Only per-benchmark counts reach the driver, unless the index is small enough to
broadcast (`NgramIndex.size_of(entries) <= max_broadcast_bytes`, the one place that decides):
then its entries and item catalog are collected into the `NgramIndex` that `build_index` would
have built, identical array for array. A larger index stays a `SparkIndex` of two DataFrames
that the job joins with document n-grams.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from dataflow.decontaminate.batches import DecontaminateConfig
from dataflow.decontaminate.benchmarks import BenchmarkSpec, benchmark_files, check_fields
from dataflow.decontaminate.index_parts import FILE_SCHEMA, ITEM_SCHEMA, benchmark_item_batches
from dataflow.decontaminate.ngram_index import ItemCatalog, NgramIndex, phrase_hashes


@dataclass
class SparkIndex:
    """An index too large to broadcast: `entries` (hash, item) and `catalog` (item, benchmark, item_id)."""

    entries: DataFrame
    catalog: DataFrame
    benchmarks: list[str]
    sizes: list[int]
    stats: dict = field(default_factory=dict)


def benchmark_index(spark: SparkSession, specs: list[BenchmarkSpec], config: DecontaminateConfig,
                    phrases: list[str]) -> NgramIndex | SparkIndex:
    """The index of `specs`: an NgramIndex when it fits `config.max_broadcast_bytes`, else a SparkIndex."""
    started = time.time()
    files = [(number, path, len(paths) > 1) for number, spec in enumerate(specs)
             for paths in [benchmark_files(spec)] for path in paths]
    rows = [(benchmark, place, path, several) for place, (benchmark, path, several) in enumerate(files)]
    listed = spark.createDataFrame(spark.sparkContext.parallelize(rows, len(rows)),  # a task per file
                                   from_arrow_schema(FILE_SCHEMA))
    # Persisted: read for the counts, the entries and the catalog; reading the files is the cost.
    items = listed.mapInArrow(functools.partial(benchmark_item_batches, specs=specs, ngram=config.ngram,
                                                min_ngram=config.min_ngram),
                              from_arrow_schema(ITEM_SCHEMA)).persist(StorageLevel.DISK_ONLY)
    counts = {row["benchmark"]: row for row in items.groupBy("benchmark").agg(  # one row per benchmark
        F.count(F.lit(1)).alias("items"), F.sum((~F.col("indexed")).cast("long")).alias("items_skipped"),
        F.sum("mostly_numbers").alias("mostly_numbers"), F.bit_or("fields_found").alias("fields_found"),
        F.array_distinct(F.flatten(F.collect_set("sizes"))).alias("sizes")).collect()}
    for number, spec in enumerate(specs):
        mask = counts[number]["fields_found"] if number in counts else 0
        check_fields(spec, {field for bit, field in enumerate(spec.fields) if mask >> bit & 1})
    sizes = sorted({size for row in counts.values() for size in row["sizes"]})
    entries = items.where("indexed").select("item", F.explode("hashes").alias("hash"))
    common = phrase_hashes(phrases, sizes).view(np.int64).tolist()
    # Persisted: one row per distinct n-gram, read for the counts and to select the entries.
    holders = (entries.groupBy("hash").agg(F.count(F.lit(1)).alias("holders"))
               .withColumn("phrase", F.col("hash").isin(common))
               .persist(StorageLevel.DISK_ONLY))
    allowed = F.col("holders") <= config.max_items_per_ngram
    kept = allowed & ~F.col("phrase")
    totals = holders.agg(F.sum((~allowed).cast("long")).alias("too_common"),
                         F.sum((allowed & F.col("phrase")).cast("long")).alias("in_phrases"),
                         F.sum(kept.cast("long")).alias("distinct"),
                         F.sum(F.when(kept, F.col("holders"))).alias("entries")).first()
    index_entries = entries.join(holders.where(kept).select("hash"), "hash")
    catalog = items.where("indexed").select("item", "benchmark", "item_id")
    size = NgramIndex.size_of(totals["entries"] or 0)
    stats = {
        "benchmarks": {spec.name: {"items": counts[number]["items"] if number in counts else 0,
                                   "items_skipped": counts[number]["items_skipped"] if number in counts else 0}
                       for number, spec in enumerate(specs)},
        "ngram_sizes": sizes,
        "ngrams_mostly_numbers": sum(row["mostly_numbers"] or 0 for row in counts.values()),
        "ngrams_too_common": totals["too_common"] or 0,
        "ngrams_in_common_phrases": totals["in_phrases"] or 0,
        "entries": totals["entries"] or 0,
        "distinct_ngrams": totals["distinct"] or 0,
        "bytes": size,
    }
    names = [spec.name for spec in specs]
    if size <= config.max_broadcast_bytes:
        index = _collected(index_entries, catalog, names, sizes)
        items.unpersist()
        holders.unpersist()
    else:
        index = SparkIndex(index_entries, catalog, names, sizes)
    index.stats = {**stats, "build_seconds": round(time.time() - started, 3)}
    return index


def _collected(entries: DataFrame, catalog: DataFrame, benchmarks: list[str], sizes: list[int]) -> NgramIndex:
    """The NgramIndex of a small index: items renumbered in `build_index`'s order, entries sorted."""
    items = catalog.toArrow().sort_by("item")
    numbers = items.column("item").to_numpy()
    table = entries.toArrow()
    item_of = np.searchsorted(numbers, table.column("item").to_numpy()).astype(np.uint32)
    hashes = table.column("hash").to_numpy().view(np.uint64)
    order = np.lexsort((item_of, hashes))
    catalog = ItemCatalog(benchmarks, items.column("benchmark").to_numpy().astype(np.int16),
                          items.column("item_id").to_pylist(), sizes)
    return NgramIndex(hashes[order], item_of[order], catalog)
