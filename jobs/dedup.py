"""Dedup: exact, URL and MinHash-LSH near-duplicate removal, distributed end to end.

    dataflow run dedup --input out/scored --output out/deduped [--threshold 0.8 --num-perm 112]
    spark-submit --py-files dataflow.zip jobs/dedup.py --input s3a://bucket/scored --output s3a://bucket/deduped

The plan, every step a DataFrame (only counts reach the driver):
1. signatures: one mapInArrow pass gives each row its normalised-text key, URL key, MinHash
   signature and LSH band keys (dataflow/dedup/batches.py, dataflow/dedup/minhash.py);
2. exact groups: rows sharing a text (or URL) key form a star around the group's smallest id;
3. LSH: each band bucket holding two or more exact survivors becomes a star around its
   smallest id (a star per bucket, not all pairs: edges grow linearly with bucket size);
4. verification (optional): candidate edges with exact Jaccard below the threshold are dropped;
   each star is verified in one partition, its centre's text read and shingled once;
5. clusters: connected components of all edges (jobs/common/connected_components.py), labelled by
   their smallest id; per cluster the best row by the keep rules stays, the others are
   rejected naming the kept id.
Every choice is a minimum over ids or ranks, so the output does not depend on partitioning.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from dataclasses import dataclass

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

from dataflow import stage as contract
from dataflow.dedup.against import EARLIER_REASON, SIGNATURE_COLUMNS, SIGNATURES_DIR, check_comparable
from dataflow.dedup.batches import (FEATURE_FIELDS, JACCARD_SCHEMA, DedupConfig, signature_batches,
                                    star_jaccard_batches, size_bucket)
from dataflow.errors import ConfigError, InputError
from dataflow.schema import REJECT_REASON, REJECT_VALUE
from dataflow.stage import check_output
from jobs.common.arguments import DocumentsOptions, documents_options, stage_config, stage_parser
from jobs.common.connected_components import connected_components
from jobs.common.documents_in import add_input_flags
from jobs.common.spark import get_spark
from jobs.common.stage_io import HadoopFS, Stage, read_stage_input, run_stage, stage_input_identity

STAGE = "dedup"
log = logging.getLogger(__name__)
#: Columns this stage adds (an input that already has them, e.g. a re-run, gets them recomputed).
ADDED_COLUMNS = ("dup_cluster", "dup_cluster_size", "minhash")


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, DedupConfig)
    add_input_flags(parser)
    parser.add_argument("--against", action="append", default=[], metavar="PRIOR_DEDUP_OUTPUT",
                        help="output of an earlier dedup run (e.g. last month's crawl): documents duplicating what it "
                             f"kept are rejected as {EARLIER_REASON}; repeatable [default: none, dedup per run]")
    return parser.parse_args(argv)


def keep_rank(docs: DataFrame, config: DedupConfig) -> Column:
    """A struct ordered best-first by the keep rules, then by id: the kept row has the minimum."""
    fields = []
    for rule in config.keep:
        if rule == "quality" and config.quality_column not in docs.columns:
            log.warning("dedup: keep rule 'quality' skipped: no column %r in the input", config.quality_column)
        elif rule == "quality":
            fields.append(F.coalesce(-F.col(config.quality_column).cast("double"), F.lit(float("inf"))).alias(rule))
        elif rule == "longest":
            fields.append((-F.coalesce(F.length("text"), F.lit(0))).alias(rule))
        elif "fetch_time" not in docs.columns:
            raise ConfigError("dedup.keep rule 'earliest' needs a fetch_time column, which the input lacks")
        else:
            fields.append(F.coalesce(F.unix_micros("fetch_time"), F.lit(sys.maxsize)).alias(rule))
    return F.struct(*fields, F.col("id").alias("id"))


def build(spark: SparkSession, docs: DataFrame, config: DedupConfig, work_dir: str, figures: dict,
          earlier: tuple[DataFrame, DataFrame] | None = None, kept_features: dict | None = None) -> DataFrame:
    """The annotated plan over `docs`; `figures` receives the LSH parameters, edge counts and step times.

    With `earlier` (the stored signatures of earlier runs, dataflow/dedup/against.py), documents
    duplicating one of them are rejected first and the rest are deduplicated among themselves.
    `kept_features` receives the signature pass's frame, for the signatures/ side output.
    """
    spark.sparkContext.setCheckpointDir(config.checkpoint_dir or f"{work_dir}/checkpoints")
    docs = docs.drop(*ADDED_COLUMNS)
    bands, rows = config.lsh_params()
    figures.update(bands=bands, rows=rows, seconds={})
    started = time.time()

    def step(name: str) -> None:
        nonlocal started
        figures["seconds"][name] = round(time.time() - started, 3)
        started = time.time()

    # Persisted: read by the exact groups, the URL groups, LSH and the final decisions;
    # recomputing it would repeat the signature pass, the stage's main cost. On disk: ~600
    # bytes a row (the signature is most of it) would otherwise hold executor heap that the
    # later shuffles and the output need.
    features = _features(docs, config, bands, rows).persist(StorageLevel.DISK_ONLY)
    features.count()
    step("signatures")
    if kept_features is not None:
        kept_features["features"] = features
    hits = None
    if earlier is not None:
        # Checkpointed: counted here, then read by the run's own dedup and by the decisions.
        hits = _earlier_hits(docs, features, earlier, config).checkpoint(eager=True)
        figures["earlier_duplicates"] = hits.count()
        step("against_earlier")
        all_features, features = features, features.join(hits, "id", "left_anti")
    edges, charged = _exact_groups(features, "text_key", "exact_duplicate")
    if config.url_dedup:  # among the survivors of exact dedup, as near dedup below
        url_edges, url_charged = _exact_groups(features.join(charged, "id", "left_anti"), "url_key", "url_duplicate")
        edges, charged = edges.unionByName(url_edges), charged.unionByName(url_charged)
    if config.near:
        survivors = features.join(charged, "id", "left_anti")
        near = _near_edges(docs, survivors, config, figures)
        step("lsh_and_verification")
        edges = edges.unionByName(near)
    labels, figures["component_rounds"] = connected_components(edges, config.max_rounds)
    step("components")
    decisions = _decisions(features, labels, charged, config)
    if hits is not None:
        decisions = decisions.unionByName(_earlier_decisions(all_features, hits, config))
    return docs.join(decisions, "id").select(*docs.columns, *[c for c in decisions.columns if c != "id"])


def read_earlier(spark: SparkSession, paths: list[str], config: DedupConfig) -> tuple[DataFrame, DataFrame] | None:
    """The stored signatures of the earlier runs `paths` (their kept documents), checked comparable,
    and those documents' texts (read only for the candidate pairs that verification checks)."""
    if not paths:
        return None
    frames, texts = [], []
    for path in paths:
        root = path.rstrip("/")
        fs = HadoopFS(spark)
        if contract.complete_stats(fs, root) is None or not fs.exists(f"{root}/{SIGNATURES_DIR}"):
            raise InputError(f"--against {path} is not a complete dedup output with {SIGNATURES_DIR}/ (written by "
                             "dedup since it could run against earlier crawls): rerun dedup on that crawl")
        check_comparable(config, json.loads(HadoopFS(spark).read_bytes(f"{root}/{contract.STATS_FILE}")), path)
        frames.append(spark.read.parquet(f"{root}/{SIGNATURES_DIR}").select(*SIGNATURE_COLUMNS))
        texts.append(spark.read.parquet(f"{root}/{contract.DATA_DIR}").select("id", "text"))
    return functools.reduce(DataFrame.unionByName, frames), functools.reduce(DataFrame.unionByName, texts)


def _earlier_hits(docs: DataFrame, features: DataFrame, earlier: tuple[DataFrame, DataFrame],
                  config: DedupConfig) -> DataFrame:
    """(id, earlier): each new document equal to, or a near duplicate of, a document an earlier run
    kept, with the smallest such earlier id. Exact: same text key. Near: a shared LSH band (from
    the stored band keys) and, when `verify` is on, exact Jaccard >= threshold, as within a run."""
    signatures, earlier_texts = earlier
    old = signatures.select(F.col("id").alias("earlier"), "text_key", "band_keys")
    exact = (features.where(F.col("text_key").isNotNull()).select("id", "text_key").join(old, "text_key")
             .groupBy("id").agg(F.min("earlier").alias("earlier")))
    if not config.near:
        return exact
    new_bands = features.join(exact, "id", "left_anti").select("id", F.explode("band_keys").alias("band"))
    pairs = (new_bands.join(old.select("earlier", F.explode("band_keys").alias("band")), "band")
             .select("id", "earlier").distinct())
    if config.verify:
        candidates = pairs.select(F.col("id").alias("src"), F.col("earlier").alias("dst"))
        pairs = (_star_jaccard(candidates, docs, earlier_texts, config.ngram)
                 .where(F.col("jaccard") >= config.threshold)
                 .select(F.col("src").alias("id"), F.col("dst").alias("earlier")))
    near = pairs.groupBy("id").agg(F.min("earlier").alias("earlier"))
    return exact.unionByName(near)


def _earlier_decisions(features: DataFrame, hits: DataFrame, config: DedupConfig) -> DataFrame:
    """`_decisions`'s columns for the documents rejected as duplicates of earlier runs' documents."""
    return features.select("id", "minhash").join(hits, "id").select(
        "id",
        F.col("earlier").alias("dup_cluster"),
        F.lit(1).alias("dup_cluster_size"),
        *(["minhash"] if config.write_signatures else []),
        F.lit(EARLIER_REASON).alias(REJECT_REASON),
        F.col("earlier").alias(REJECT_VALUE),
    )


def write_signatures(annotated: DataFrame, kept_features: dict, folder: str) -> dict:
    """signatures/: the kept documents' text keys, signatures and band keys, what a later run's
    --against reads instead of recomputing them."""
    kept = annotated.where(F.col(REJECT_REASON).isNull()).select("id")
    kept_features["features"].join(kept, "id").select(*SIGNATURE_COLUMNS).write.parquet(f"{folder}/{SIGNATURES_DIR}")
    return {"signatures": SIGNATURES_DIR}


def _features(docs: DataFrame, config: DedupConfig, bands: int, rows: int) -> DataFrame:
    base = docs.select("id", "text", keep_rank(docs, config).alias("rank"),
                       *(["url"] if config.url_dedup else []))
    passed = [field for field in to_arrow_schema(base.schema) if field.name not in ("text", "url")]
    schema = from_arrow_schema(pa.schema([*passed, *FEATURE_FIELDS]))
    return base.mapInArrow(functools.partial(signature_batches, config=config, bands=bands, rows=rows), schema)


def _exact_groups(features: DataFrame, key: str, reason: str) -> tuple[DataFrame, DataFrame]:
    """Star edges of the rows sharing `key`, and the rows charged to `reason` (not their group's best)."""
    groups = (features.where(F.col(key).isNotNull()).groupBy(key)
              .agg(F.min("id").alias("centre"), F.min("rank").alias("best"), F.count(F.lit(1)).alias("size"))
              .where(F.col("size") > 1))
    members = features.select("id", key).join(groups, key)
    edges = members.where(F.col("id") != F.col("centre")).select(F.col("id").alias("src"), F.col("centre").alias("dst"))
    charged = members.where(F.col("id") != F.col("best.id")).select("id", F.lit(reason).alias("reason"))
    return edges, charged


def _near_edges(docs: DataFrame, survivors: DataFrame, config: DedupConfig, figures: dict) -> DataFrame:
    """Star edges of LSH buckets over the survivors of exact dedup, verified if configured."""
    band_rows = survivors.select("id", F.explode("band_keys").alias("band"))
    buckets = (band_rows.groupBy("band").agg(F.min("id").alias("centre"), F.count(F.lit(1)).alias("size"))
               .where(F.col("size") > 1))
    candidates = (band_rows.join(buckets, "band").where(F.col("id") != F.col("centre"))
                  .select(F.col("id").alias("src"), F.col("centre").alias("dst")).distinct())
    # Checkpointed: counted here, then verified or clustered; the band explode and bucket
    # shuffle are not worth repeating.
    candidates = candidates.checkpoint(eager=True)
    figures["candidate_pairs"] = candidates.count()
    if not config.verify:
        return candidates
    scored = _star_jaccard(candidates, docs, docs, config.ngram)
    # Checkpointed: verification shuffles texts and re-shingles them; counted, then clustered.
    verified = scored.where(F.col("jaccard") >= config.threshold).select("src", "dst").checkpoint(eager=True)
    figures["verified_pairs"] = verified.count()
    return verified


def _star_jaccard(candidates: DataFrame, src_docs: DataFrame, dst_docs: DataFrame, ngram: int) -> DataFrame:
    """(src, dst, jaccard): exact Jaccard of each candidate pair, src's text from `src_docs`, dst's from `dst_docs`.

    Each star (a dst and its srcs) in one partition, its centre's row first: every text moves
    once per star it belongs to, not once per edge, and the centre is shingled once
    (star_jaccard_batches)."""
    members = candidates.select(F.col("dst").alias("centre"), F.col("src").alias("id")) \
        .join(src_docs.select("id", "text"), "id").select("centre", "id", "text")
    centres = candidates.select(F.col("dst").alias("id")).distinct().join(dst_docs.select("id", "text"), "id") \
        .select(F.col("id").alias("centre"), "id", "text")
    stars = (members.unionByName(centres).repartition("centre")
             .sortWithinPartitions("centre", F.col("id") != F.col("centre")))
    return stars.mapInArrow(functools.partial(star_jaccard_batches, ngram=ngram), from_arrow_schema(JACCARD_SCHEMA))


def _decisions(features: DataFrame, labels: DataFrame, charged: DataFrame, config: DedupConfig) -> DataFrame:
    """Per row: dup_cluster, dup_cluster_size, minhash, and the reject reason and kept id."""
    rows = features.select("id", "rank", "minhash").join(labels.withColumnRenamed("node", "id"), "id", "left")
    clusters = (rows.where(F.col("component").isNotNull()).groupBy("component")
                .agg(F.min("rank").alias("best"), F.count(F.lit(1)).alias("size")))
    decided = rows.join(clusters, "component", "left").join(charged, "id", "left")
    kept = F.col("best.id")
    removed = F.col("component").isNotNull() & (F.col("id") != kept)
    return decided.select(
        "id",
        F.col("component").alias("dup_cluster"),
        F.coalesce(F.col("size"), F.lit(1)).cast("int").alias("dup_cluster_size"),
        *(["minhash"] if config.write_signatures else []),
        F.when(removed, F.coalesce(F.col("reason"), F.lit("near_duplicate"))).alias(REJECT_REASON),
        F.when(removed, kept).alias(REJECT_VALUE),
    )


def cluster_stats(annotated: DataFrame) -> dict:
    """Clusters (2+ rows) and their size histogram, counted over kept rows (one per cluster)."""
    sizes = (annotated.where(F.col(REJECT_REASON).isNull() & (F.col("dup_cluster_size") > 1))
             .groupBy("dup_cluster_size").count().collect())  # one row per distinct size: small
    histogram: dict[str, int] = {}
    for row in sorted(sizes, key=lambda row: row["dup_cluster_size"]):
        bucket = size_bucket(row["dup_cluster_size"])
        histogram[bucket] = histogram.get(bucket, 0) + row["count"]
    return {"clusters": sum(histogram.values()), "cluster_size_histogram": histogram,
            "largest_cluster": max((row["dup_cluster_size"] for row in sizes), default=1)}


@dataclass(frozen=True, kw_only=True)
class DedupOptions(DocumentsOptions):
    against: tuple[str, ...] = ()
    """Outputs of earlier dedup runs whose kept documents this run's duplicates are rejected against."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = DedupOptions(**vars(documents_options(args)), against=tuple(args.against))
    return run(options, stage_config(args, STAGE, DedupConfig))


def run(args: DedupOptions, config: DedupConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call."""
    columns = args.columns
    check_output(args.output, [args.input, *args.against], stage=STAGE)
    spark = get_spark("dataflow-dedup")
    docs = read_stage_input(spark, args.input, columns)
    earlier = read_earlier(spark, args.against, config)
    stage = Stage(STAGE, args.output, config,
                  [stage_input_identity(spark, args.input, columns),
                   *(stage_input_identity(spark, path) for path in args.against)], force=args.force)
    figures: dict = {}
    kept_features: dict = {}
    run_stage(spark, stage, lambda: build(spark, docs, config, stage.work_dir, figures, earlier, kept_features),
              extra_stats=lambda annotated: {**figures, **cluster_stats(annotated)},
              extra_outputs=lambda annotated, folder: write_signatures(annotated, kept_features, folder),
              storage_level=StorageLevel.DISK_ONLY)  # every document's text: not in heap
    return 0


if __name__ == "__main__":
    sys.exit(main())
