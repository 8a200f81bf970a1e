"""Extract: WARC files to documents (text, title, language), one Spark task per WARC file.

    dataflow run extract --input 'out/warc/*.warc.gz' --output out/docs
    dataflow run extract --crawl CC-MAIN-2024-22 --limit-files 2 --output out/docs
    spark-submit --master yarn --py-files dataflow.zip jobs/extract.py --input paths.txt --output s3a://bucket/docs

Records are streamed inside the task (dataflow/extract/warc.py) and processed over Arrow batches
(dataflow/extract/records.py); the language-ID model is shipped to executors with the job.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from dataflow.extract import langid
from dataflow.extract.cascade import REUSED
from dataflow.extract.quality_gate import PREFIX as QUALITY_PREFIX
from dataflow.extract.repair import TEXT_FIX_KINDS
from dataflow.extract.records import (COMMITTED_FILE_SCHEMA, EXTRACT_OUTPUT_SCHEMA, SKIPPED_RECORD_REASONS,
                                      ExtractConfig, commit_shipped_files)
from dataflow.filters.config import FilterConfig
from dataflow.pipeline import load_pipeline_config
from dataflow.schema import REJECT_REASON, REJECT_VALUE
from dataflow.extract.inputs import COMMON_CRAWL_BASE_URL, crawl_listing_url, resolve_inputs
from dataflow.partial import COMMITTED_DIR, FILES_DIR, committed_keys, piece_key
from dataflow.stage import check_output, local_file_identity
from jobs.common.arguments import StageOptions, stage_config, stage_parser
from jobs.common.spark import get_spark, ship_file
from jobs.common.stage_io import HadoopFS, Stage, resumable_partial, run_stage

STAGE = "extract"
MAX_LISTED_FILES = 1000

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, ExtractConfig)
    source = parser.add_argument_group("input (one of --input or --crawl)")
    source.add_argument("--input", action="append", default=[],
                        help="glob, directory, text file of paths, or warc.paths.gz listing; repeatable")
    source.add_argument("--crawl", help="Common Crawl name, e.g. CC-MAIN-2024-22 (reads its warc.paths.gz)")
    source.add_argument("--base-url", help=f"prefix for relative paths in listings [default: {COMMON_CRAWL_BASE_URL} "
                                           "for .paths(.gz), else the listing's folder]")
    source.add_argument("--limit-files", type=int, help="read only the first N WARC files")
    args = parser.parse_args(argv)
    if bool(args.input) == bool(args.crawl):
        parser.error("give exactly one of --input or --crawl")
    return args


def build(spark: SparkSession, paths: list[str], config: ExtractConfig, partial: str, resume: dict,
          filter_config: FilterConfig | None = None) -> DataFrame:
    """The annotated plan: one row per WARC record of `paths` (EXTRACT_OUTPUT_SCHEMA), read back from
    the files committed into `partial` by this run or an earlier, killed one (docs/stages/resume.md);
    `resume` receives how many files were extracted now; the cascade's quality gate judges by
    `filter_config` when given."""
    resume.update(commit_files(spark, paths, config, partial, filter_config))
    return spark.read.schema(from_arrow_schema(EXTRACT_OUTPUT_SCHEMA)).parquet(f"{partial}/{FILES_DIR}")


def commit_files(spark: SparkSession, paths: list[str], config: ExtractConfig, partial: str,
                 filter_config: FilterConfig | None = None) -> dict:
    """Extract the files of `paths` that have no commit marker in `partial`, each committed by its task."""
    done = committed_keys(HadoopFS(spark).entries(f"{partial}/{COMMITTED_DIR}") or [])
    left = [path for path in paths if piece_key(path) not in done]
    log.warning("extract: %d of %d files committed by an earlier run; extracting %d", len(paths) - len(left),
                len(paths), len(left))
    if left:
        model_path = config.lid_model or langid.default_model_path()
        langid.load_model(model_path)  # fail here, before any task starts, if the model is unusable
        model_name = ship_file(spark, model_path)
        # One partition per file, so one task streams one WARC (cc-pyspark's pattern).
        files = spark.sparkContext.parallelize(list(enumerate(left)), numSlices=len(left))
        frame = spark.createDataFrame(files, "file_index INT, path STRING")
        work = functools.partial(commit_shipped_files, config=config, model_name=model_name,
                                 partial=partial, filter_config=filter_config)
        frame.mapInArrow(work, schema=from_arrow_schema(COMMITTED_FILE_SCHEMA)).agg(F.count(F.lit(1))).first()
    return {"files": len(paths), "files_committed_before": len(paths) - len(left), "files_extracted": len(left)}


def unreadable_files(annotated: DataFrame) -> dict:
    """stats.json's list of the files that could not be read at all, and why (the first
    MAX_LISTED_FILES: a crawl with more broken files than that has a bigger problem)."""
    rows = annotated.where(F.col(REJECT_REASON) == "unreadable_file").select("warc_path", REJECT_VALUE) \
        .orderBy("warc_path").limit(MAX_LISTED_FILES).collect()  # bounded by the limit
    return {"unreadable_files": {row["warc_path"]: row[REJECT_VALUE] for row in rows}}


def repair_and_cascade_stats(annotated: DataFrame) -> dict:
    """stats.json's `extra.text_fixes` (kept documents per kind of repair, dataflow/extract/repair.py;
    kinds with none left out) and `extra.cascade` (pages the cascade spared trafilatura,
    dataflow/extract/cascade.py), in one pass over the plan: each extra job costs a small
    input most of a second."""
    reason, value, kept = F.col(REJECT_REASON), F.col(REJECT_VALUE), F.col(REJECT_REASON).isNull()
    row = annotated.agg(
        F.count_if(reason == "language_prefilter").alias("language_prefilter"),
        F.count_if(reason.startswith(QUALITY_PREFIX)).alias("quality_prefilter"),
        F.count_if(kept & (value == REUSED)).alias(REUSED),
        *[F.count_if(kept & F.array_contains("text_fixes", kind)).alias(f"fix_{kind}") for kind in TEXT_FIX_KINDS],
    ).first().asDict()
    return {"text_fixes": {kind: row[f"fix_{kind}"] for kind in TEXT_FIX_KINDS if row[f"fix_{kind}"]},
            "cascade": {"language_prefilter": row["language_prefilter"], "quality_prefilter": row["quality_prefilter"],
                        REUSED: row[REUSED]}}


def extract_stats(annotated: DataFrame) -> dict:
    """stats.json's extract figures: the unreadable files, the text repairs and the cascade."""
    return {**unreadable_files(annotated), **repair_and_cascade_stats(annotated)}


@dataclass(frozen=True, kw_only=True)
class ExtractOptions(StageOptions):
    input: tuple[str, ...] = ()
    """WARC files: globs, folders, text files of paths or warc.paths.gz listings (or `crawl`)."""
    crawl: str | None = None
    """A Common Crawl name whose warc.paths.gz lists the input."""
    base_url: str | None = None
    """Prefix for relative paths in listings."""
    limit_files: int | None = None
    """Read only the first N WARC files."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = stage_config(args, STAGE, ExtractConfig)
    options = ExtractOptions(input=tuple(args.input), crawl=args.crawl, base_url=args.base_url,
                             limit_files=args.limit_files, output=args.output, force=args.force)
    return run(options, config, load_pipeline_config(args.config).filter)


def run(args: ExtractOptions, config: ExtractConfig, quality_rules: FilterConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call; `quality_rules` (the
    filter section) are what the quality gate judges by when `config.quality_prefilter` is on."""
    specs = args.input or [crawl_listing_url(args.crawl)]
    paths = resolve_inputs(specs, base_url=args.base_url, limit_files=args.limit_files,
                           s3_anonymous=config.s3_anonymous)
    check_output(args.output, paths, stage=STAGE)
    spark = get_spark("dataflow-extract")
    output = args.output if "://" in args.output else os.path.abspath(args.output)  # tasks write there too
    # The quality gate needs the filter's rules: the `filter:` section of the same config (run pipeline turns
    # quality_prefilter on when its filter stage applies that section next); they are part of the fingerprint.
    filter_config = quality_rules if config.quality_prefilter else None
    identities = [local_file_identity(path) for path in paths]
    if filter_config is not None:
        identities.append({"quality_prefilter_rules": filter_config.model_dump(mode="json")})
    stage = Stage(STAGE, output, config, identities, force=args.force)
    partial, resume = resumable_partial(spark, stage), {}
    run_stage(spark, stage, lambda: build(spark, paths, config, partial, resume, filter_config),
              skipped_reasons=SKIPPED_RECORD_REASONS,
              extra_stats=lambda annotated: {**extract_stats(annotated), "resume": resume}, storage_level=None)
    HadoopFS(spark).delete(partial)  # published (or complete already): its pieces are in the output now
    return 0


if __name__ == "__main__":
    sys.exit(main())
