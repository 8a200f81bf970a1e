"""Decontaminate: find benchmark test text in documents, drop, excise or annotate it, report the leaks.

    dataflow run decontaminate --input out/deduped --output out/clean \\
        --benchmark gsm8k=path/to/test.jsonl:question,answer --benchmark mmlu --ngram 13 --action excise
    dataflow run decontaminate --input out/docs --output out/clean --benchmark all --benchmarks-dir data/benchmarks
    spark-submit --master yarn --py-files dataflow.zip jobs/decontaminate.py --input s3a://b/docs --output \
        s3a://b/clean --benchmark all

Benchmarks are read and indexed by executors, a task per file (jobs/common/benchmark_index.py);
the driver holds the index only when it is at most --max-broadcast-bytes: then it is collected,
broadcast, and every document is matched inside mapInArrow. A larger one stays a DataFrame
joined with every document's n-grams, and the hits are gathered per document before the same
action runs (dataflow/decontaminate/batches.py). The
output folder adds contamination.json and contamination/ (dataflow/decontaminate/report.py).
"""

from __future__ import annotations

import functools
import logging
import sys

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

from dataflow.decontaminate.benchmarks import BenchmarkSpec, benchmark_files, load_registry, resolve_benchmarks
from dataflow.config import with_overrides
from dataflow.decontaminate.batches import (ADDED_FIELDS, HITS_COLUMN, NGRAM_SCHEMA, PARENT_COLUMN, DecontaminateConfig,
                                    decontaminate_batches, document_ngram_batches, joined_batches, output_schema)
from dataflow.decontaminate.ngram_index import NgramIndex
from dataflow.remote import open_binary
from dataflow.stage import check_output, local_file_identity
from jobs.common.arguments import DocumentsOptions, documents_options, stage_config, stage_parser
from jobs.common.benchmark_index import SparkIndex, benchmark_index
from jobs.common.contamination_report import write_report
from jobs.common.documents_in import add_input_flags
from jobs.common.spark import get_spark
from jobs.common.stage_io import Stage, read_stage_input, run_stage, stage_input_identity

STAGE = "decontaminate"
log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, DecontaminateConfig, skip=frozenset({"benchmarks", "registries"}))
    add_input_flags(parser)
    parser.add_argument("--benchmark", action="append", default=[],
                        help="NAME (registry entry), `all`, or NAME=PATH:FIELD,FIELD for a set the registry lacks; "
                        "repeatable")
    parser.add_argument("--registry", action="append", default=[],
                        help="a user registry YAML (same shape as dataflow/decontaminate/benchmarks.yaml); repeatable")
    return parser.parse_args(argv)


def benchmark_specs(config: DecontaminateConfig) -> list[BenchmarkSpec]:
    """The configured benchmarks, looked up in the built-in and user registries."""
    return resolve_benchmarks(config.benchmarks, load_registry(config.registries, config.benchmarks_dir))


def common_phrases(config: DecontaminateConfig) -> list[str]:
    """The lines of the common-phrases files (small: read on the driver)."""
    phrases = []
    for path in config.common_phrases:
        with open_binary(path) as handle:
            phrases += [line for line in handle.read().decode("utf-8").splitlines() if line.strip()]
    return phrases


def load_index(spark: SparkSession, config: DecontaminateConfig, specs: list[BenchmarkSpec]) -> NgramIndex | SparkIndex:
    """The benchmarks' n-gram index, built by executors (jobs/common/benchmark_index.py)."""
    index = benchmark_index(spark, specs, config, common_phrases(config))
    log.warning("%s: index of %d benchmarks: %d n-gram entries, %.1f MiB, built in %.1fs (%s)", STAGE, len(specs),
                index.stats["entries"], index.stats["bytes"] / 2**20, index.stats["build_seconds"],
                "broadcast" if isinstance(index, NgramIndex) else "joined with document n-grams")
    return index


def build(spark: SparkSession, docs: DataFrame, index: NgramIndex | SparkIndex,
          config: DecontaminateConfig) -> DataFrame:
    """The annotated plan: every document once, or as its pieces when excised."""
    docs = docs.drop(*[field.name for field in ADDED_FIELDS])
    # Spark hands timestamps to Python in the session time zone.
    schema = output_schema(to_arrow_schema(docs.schema, timezone=spark.conf.get("spark.sql.session.timeZone")))
    if isinstance(index, NgramIndex):
        shared = spark.sparkContext.broadcast(index)  # unpickled once per Python worker
        work = functools.partial(_match, index=shared, config=config, schema=schema)
        return docs.mapInArrow(work, from_arrow_schema(schema))
    return _join(docs, index, config, schema)


def _match(batches, index, config: DecontaminateConfig, schema: pa.Schema):
    return decontaminate_batches(batches, index.value, config, schema)


def _join(docs: DataFrame, index: SparkIndex, config: DecontaminateConfig, schema: pa.Schema) -> DataFrame:
    """The large-index plan: document n-grams joined with the index, hits gathered per document
    with their item's benchmark and id."""
    ngrams = docs.select("id", "text").mapInArrow(
        functools.partial(document_ngram_batches, sizes=index.sizes), from_arrow_schema(NGRAM_SCHEMA))
    hits = ngrams.join(index.entries, "hash").join(index.catalog, "item").groupBy("id").agg(
        F.collect_list(F.struct("item", "benchmark", "item_id", "start", "size")).alias(HITS_COLUMN))
    work = functools.partial(joined_batches, benchmarks=index.benchmarks, sizes=index.sizes, config=config,
                             schema=schema)
    return docs.join(hits, "id", "left").mapInArrow(work, from_arrow_schema(schema))


def benchmark_identity(specs: list[BenchmarkSpec], config: DecontaminateConfig) -> list:
    """What the fingerprint records of the benchmarks: each spec and its files' sizes and times."""
    return [[spec.model_dump(), [local_file_identity(path) for path in benchmark_files(spec)]] for spec in specs] + \
        [local_file_identity(path) for path in config.common_phrases]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = stage_config(args, STAGE, DecontaminateConfig)
    overrides = {"benchmarks": args.benchmark} if args.benchmark else {}
    if args.registry:
        overrides["registries"] = args.registry
    return run(documents_options(args), with_overrides(config, overrides))


def run(args: DocumentsOptions, config: DecontaminateConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call."""
    columns = args.columns
    specs = benchmark_specs(config)
    check_output(args.output, [args.input], stage=STAGE)
    spark = get_spark("dataflow-decontaminate")
    inputs = [stage_input_identity(spark, args.input, columns), benchmark_identity(specs, config)]
    stage = Stage(STAGE, args.output, config, inputs, force=args.force)
    index = functools.cache(lambda: load_index(spark, config, specs))  # not built when the stage is skipped
    settings = config.model_dump(include={"action", "ngram", "min_ngram", "max_items_per_ngram", "window_chars"})
    run_stage(spark, stage, lambda: build(spark, read_stage_input(spark, args.input, columns), index(), config),
              split_parent=PARENT_COLUMN,
              extra_outputs=lambda annotated, folder: write_report(annotated, folder, index().stats, settings,
                                                                   config.max_report_documents))
    return 0


if __name__ == "__main__":
    sys.exit(main())
