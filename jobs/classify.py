"""Classify: fastText quality scores for documents, and selection by score or top fraction.

    dataflow run classify --input out/filtered --output out/scored --model models/quality.bin --keep-top 0.1
    spark-submit --master yarn --py-files dataflow.zip jobs/classify.py --input s3a://bucket/filtered \\
        --output s3a://bucket/scored --model /shared/models/quality.bin --min-score 0.5

The model is checked on the driver before any task starts, shipped to the executors once with
SparkContext.addFile and loaded once per Python worker; batches are scored through Arrow
(classifiers/quality.py). `keep_top` finds the score cut-off with Spark's approximate quantile
(per language with `--per-language`); kept rows carry `quality_score`, rejected rows go to
rejected/ as `quality_score` with their score. stats.json records the cut-offs used.
"""

from __future__ import annotations

import functools
import os
import sys

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from classifiers.quality import QUALITY_SCORE, QUALITY_SCORE_FIELD, check_model_file, score_batches
from dataflow.classify import ClassifyConfig
from dataflow.errors import ConfigError
from dataflow.schema import REJECT_REASON, REJECT_VALUE
from dataflow.stage import check_output
from jobs.common.arguments import DocumentsOptions, documents_options, stage_config, stage_parser
from jobs.common.documents_in import add_input_flags
from jobs.common.spark import get_spark, ship_file
from jobs.common.stage_io import Stage, read_stage_input, run_stage, stage_input_identity

STAGE = "classify"
#: The language key of documents without a language, for per-language cut-offs.
NO_LANGUAGE = ""


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, ClassifyConfig)
    add_input_flags(parser)
    return parser.parse_args(argv)


def score(spark: SparkSession, docs: DataFrame, model_path: str) -> DataFrame:
    """`docs` with `quality_score` (check the model first: `check_model_file`)."""
    model_name = ship_file(spark, model_path)
    docs = docs.drop(QUALITY_SCORE)
    schema = StructType(docs.schema.fields + from_arrow_schema(pa.schema([QUALITY_SCORE_FIELD])).fields)
    return docs.mapInArrow(functools.partial(_score_partition, model_name=model_name), schema)


def _score_partition(batches, model_name: str):
    from pyspark import SparkFiles

    return score_batches(batches, SparkFiles.get(model_name))


def cutoffs(scored: DataFrame, config: ClassifyConfig) -> dict[str, float]:
    """Score cut-off per language key ("*" for all languages at once): a small aggregate."""
    if config.min_score is not None:
        return {"*": config.min_score}
    if config.keep_top is None:
        return {}
    quantile = 1 - config.keep_top
    if not config.per_language:
        return {"*": scored.approxQuantile(QUALITY_SCORE, [quantile], config.quantile_relative_error)[0]}
    accuracy = max(1, int(1 / config.quantile_relative_error))
    rows = scored.groupBy(F.coalesce("language", F.lit(NO_LANGUAGE)).alias("key")).agg(
        F.percentile_approx(QUALITY_SCORE, quantile, accuracy).alias("cutoff")).collect()  # one row per language
    return {row["key"]: row["cutoff"] for row in rows}


def select(scored: DataFrame, limits: dict[str, float]) -> DataFrame:
    """Annotate rows scoring below their cut-off as rejected (`quality_score`, the score)."""
    if "*" in limits:
        cutoff = F.lit(limits["*"])
    elif limits:
        table = F.create_map(*[F.lit(value) for pair in limits.items() for value in pair])
        cutoff = table[F.coalesce("language", F.lit(NO_LANGUAGE))]
    else:
        cutoff = F.lit(None)
    below = F.col(QUALITY_SCORE) < cutoff
    return scored.select("*", F.when(below, F.lit(QUALITY_SCORE)).alias(REJECT_REASON),
                         F.when(below, F.format_string("%.6g", F.col(QUALITY_SCORE))).alias(REJECT_VALUE))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(documents_options(args), stage_config(args, STAGE, ClassifyConfig))


def run(args: DocumentsOptions, config: ClassifyConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call."""
    columns = args.columns
    if config.model is None:
        raise ConfigError("the classify stage needs a model: pass --model PATH or set classify.model in the config")
    check_model_file(config.model)  # before Spark starts: a bad model fails in a second, as one line
    check_output(args.output, [args.input, config.model], stage=STAGE)
    spark = get_spark("dataflow-classify")
    docs = read_stage_input(spark, args.input, columns)
    inputs = [stage_input_identity(spark, args.input, columns), _model_identity(config.model)]
    stage = Stage(STAGE, args.output, config, inputs, force=args.force)
    limits: dict[str, float] = {}
    scored: DataFrame | None = None

    def build() -> DataFrame:
        nonlocal scored
        # Persisted because the quantile and the stage's own writes both read the scores:
        # without it every document would be scored twice.
        scored = score(spark, docs, config.model).persist(StorageLevel.MEMORY_AND_DISK)
        limits.update(cutoffs(scored, config))
        return select(scored, limits)

    try:
        run_stage(spark, stage, build, extra_stats=lambda _: {"cutoffs": limits})
    finally:
        if scored is not None:
            scored.unpersist()
    return 0


def _model_identity(path: str) -> dict:
    stat = os.stat(path)
    return {"model": os.path.abspath(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


if __name__ == "__main__":
    sys.exit(main())
