"""Tokenize: one source's documents to token datasets, shards written in parallel by Spark tasks.

    dataflow run tokenize --input out/clean --source web --tokenizer tok/tokenizer.json --output tokens/web
    spark-submit jobs/tokenize_docs.py --input out/clean --source web --tokenizer tok.json --output /shared/tokens/web

(Named tokenize_docs.py: a job file called tokenize.py would replace the standard library's
`tokenize` module for the whole process, see docs/architecture.md.)

The output is a token source folder:

    train/        token dataset (dataflow/shards.py): manifest.json, 00000.bin, 00000.idx, ...
    validation/   token dataset of the documents whose id hash falls below validation_frac
    documents/    Parquet: id, split, shard, document (index in the shard), num_tokens, text_bytes,
                  language, domain, url: where each document's tokens are, and where they came from
    stats.json    documents, tokens, bytes, seconds per split; the tokenizer's sha256; fingerprint
    _SUCCESS

Tasks write the shards straight into the output folder, so it must be a path that the driver
and every executor see (local disk in local mode, a shared mount on a cluster), or an object store
(`s3://`, any fsspec URL; dataflow/object_store.py): tasks then upload their shards and documents/
part files, and the folder is published like any stage's (docs/formats.md, "Object storage").
On disk, each task commits its shard as it ends, so a killed run resumes with the tasks left
(docs/stages/resume.md); on a store the stage reruns whole (its partial folder would have to be read
back by Spark, which reads a store only through Hadoop's connectors).
"""

from __future__ import annotations

import functools
import logging
import math
import sys

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from dataflow.errors import ConfigError
from dataflow.object_store import is_store
from dataflow.partial import COMMITTED_DIR, FILES_DIR, committed_keys, piece_key
from dataflow.shards import SPLITS, ShardEntry, write_manifest
from dataflow.stage import check_output
from dataflow.tokenize.committed_shards import COMMITTED_SHARD_SCHEMA, commit_shard, link_shards, task_name
from dataflow.tokenize.datatrove_docs import write_datatrove
from dataflow.tokenize.encode import (DOCUMENTS_DIR, ENCODED_SCHEMA, TOKENIZE_OUTPUT_SCHEMA, TokenizeConfig,
                                      choose_encoder, encode_partition, write_partition)
from dataflow.tokenize.tokenizer import LoadedTokenizer, load_tokenizer
from jobs.common.arguments import DocumentsOptions, documents_options, stage_config, stage_parser
from jobs.common.documents_in import add_input_flags
from jobs.common.exact_partitions import exactly_partitioned
from jobs.common.megatron_docs import write_megatron
from jobs.common.spark import get_spark
from jobs.common.stage_io import (HadoopFS, Stage, input_text_bytes, python_output, read_stage_input,
                                  resumable_partial, run_output, stage_input_identity, write_parquet)

STAGE = "tokenize"
MIN_SHARDS = 8  # enough tasks to keep a small executor busy when the input is small
HASH_UNITS = 1 << 40  # hash mod this, over this: a uniform key in [0, 1)

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, TokenizeConfig,
                          output_help="token source folder; a path the driver and all executors see")
    add_input_flags(parser)
    return parser.parse_args(argv)


def place_documents(docs: DataFrame, config: TokenizeConfig, num_shards: int) -> DataFrame:
    """Documents with a split and a shard from hashes of their id, in the input's partitions.

    The validation split gets validation_shards(...) shards, so that each holds about as much
    as a training shard.
    """
    unit = F.pmod(F.xxhash64(F.lit(config.split_seed), F.col("id")), F.lit(HASH_UNITS)) / HASH_UNITS
    shard_hash = F.xxhash64(F.lit("shard"), F.col("id"))
    split = F.when(unit < config.validation_frac, F.lit("validation")).otherwise(F.lit("train"))
    optional = [F.col(name) if name in docs.columns else F.lit(None).cast("string").alias(name)
                for name in ("language", "domain", "url")]
    return (docs.select(split.alias("split"), F.col("id"), F.col("text"),
                        F.coalesce(F.octet_length("text"), F.lit(0)).cast("long").alias("text_bytes"), *optional)
            .withColumn("shard", F.pmod(shard_hash, F.when(F.col("split") == "validation",
                                                           validation_shards(config, num_shards))
                                        .otherwise(num_shards)).cast("int")))


def validation_shards(config: TokenizeConfig, num_shards: int) -> int:
    return max(1, math.ceil(num_shards * config.validation_frac))


def build(spark: SparkSession, docs: DataFrame, config: TokenizeConfig, tokenizer: LoadedTokenizer,
          num_shards: int, partial: str | None, directory: str, resume: dict) -> DataFrame:
    """The plan: TOKENIZE_OUTPUT_SCHEMA rows, each task's shard written as a side effect.

    On disk the shards are committed into `partial` (docs/stages/resume.md) and the rows read back from
    the tasks committed by this run or an earlier, killed one, whose documents are dropped before
    encoding; `resume` receives how many tasks ran now. On a store (`partial` None) each task uploads
    its shard straight into the run's folder `directory`. Texts are encoded where they are read; only
    the token arrays are shuffled, each (split, shard) to its own task (exactly_partitioned: no empty or
    doubled tasks, as a sampled range partitioning gave), and sorted by id there (the tokens break ties
    between duplicate ids).
    """
    encode = functools.partial(encode_partition, tokenizer_path=tokenizer.info.path,
                               tokenizer_sha256=tokenizer.info.sha256, eos_token=config.eos_token,
                               bos_token=config.bos_token,
                               encoder=config.encoder, batch_rows=config.batch_rows,
                               threads=int(spark.conf.get("spark.task.cpus", "1")))
    num_tasks = num_shards + validation_shards(config, num_shards)
    task = F.when(F.col("split") == "validation", F.col("shard") + num_shards).otherwise(F.col("shard"))
    placed = place_documents(docs, config, num_shards)

    def routed(documents: DataFrame) -> DataFrame:
        encoded = documents.mapInArrow(encode, schema=from_arrow_schema(ENCODED_SCHEMA))
        return exactly_partitioned(spark, encoded, task, num_tasks).sortWithinPartitions("split", "shard", "id",
                                                                                          "tokens")

    schema = from_arrow_schema(TOKENIZE_OUTPUT_SCHEMA)
    if partial is None:
        write = functools.partial(write_partition, directory=directory, vocab_size=tokenizer.vocab_size,
                                  eos_id=tokenizer.eos_id)
        return routed(placed).mapInArrow(write, schema=schema)
    commit = functools.partial(commit_shard, partial=partial, num_shards=num_shards, num_tasks=num_tasks,
                               vocab_size=tokenizer.vocab_size, eos_id=tokenizer.eos_id)
    done = committed_keys(HadoopFS(spark).entries(f"{partial}/{COMMITTED_DIR}") or [])
    before = [k for k in range(num_tasks) if piece_key(task_name(k, num_tasks)) in done]
    log.warning("tokenize: %d of %d tasks committed by an earlier run", len(before), num_tasks)
    ran = (routed(placed.where(~task.isin(before)))
           .mapInArrow(commit, schema=from_arrow_schema(COMMITTED_SHARD_SCHEMA)).agg(F.count(F.lit(1))).first()[0])
    resume.update({"tasks": num_tasks, "tasks_committed_before": len(before), "tasks_run": ran})
    if not HadoopFS(spark).exists(f"{partial}/{FILES_DIR}"):  # no document at all: no task had rows
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(f"{partial}/{FILES_DIR}")


def write_source(spark: SparkSession, docs: DataFrame, input_path: str, config: TokenizeConfig,
                 tokenizer: LoadedTokenizer, tmp: str, partial: str | None) -> dict:
    """Fill the temporary folder `tmp`: shards (on disk committed into `partial` first), both manifests,
    documents/; return the figures."""
    num_shards = config.num_shards or max(MIN_SHARDS, math.ceil(input_text_bytes(spark, docs, input_path)
                                                                / config.shard_text_bytes))
    directory = tmp.removeprefix("file://")
    encoder = choose_encoder(tokenizer, config.encoder)[1]
    log.warning("tokenize %s: encoding with %s", config.source, encoder)
    # Three actions read the plan (documents/, the shard entries, the count of documents without
    # text). On disk it is the committed pieces' files, read again at no cost; written straight to a
    # store it would tokenize everything again, so it is persisted.
    resume: dict = {}
    out = build(spark, docs, config, tokenizer, num_shards, partial, directory, resume)
    if partial is None:
        out = out.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        write_parquet(out.where(F.col("document").isNotNull()).drop("entry"), f"{tmp}/{DOCUMENTS_DIR}")
        entries = out.where(F.col("entry").isNotNull()).select("split", "entry").collect()  # one row per shard
        skipped = out.where(F.col("document").isNull() & F.col("entry").isNull()).count()
    finally:
        out.unpersist()
    splits, by_split = {}, {}
    for split in SPLITS:
        shards = by_split[split] = [ShardEntry.model_validate_json(row["entry"]) for row in entries
                                    if row["split"] == split]
        if partial is not None:  # also for a split no document fell into: empty (a store has no empty folders)
            link_shards(partial, directory, split, shards)
        write_manifest(f"{directory}/{split}", shards, source=config.source, split=split, tokenizer=tokenizer.info,
                       vocab_size=tokenizer.vocab_size, eos_id=tokenizer.eos_id,
                       config={"input": input_path, **config.model_dump(mode="json")})
        splits[split] = {"documents": sum(s.num_documents for s in shards), "tokens": sum(s.num_tokens for s in shards),
                         "bytes": sum(s.text_bytes for s in shards), "shards": len(shards)}
    documents = sum(figures["documents"] for figures in splits.values())
    result = {"source": config.source, "input": input_path, "tokenizer": tokenizer.info.model_dump(),
              "encoder": encoder, "resume": resume, "rows_in": documents + skipped, "skipped_empty_text": skipped,
              "splits": splits,
              **{key: sum(figures[key] for figures in splits.values()) for key in ("documents", "tokens", "bytes")}}
    if config.megatron:
        result["megatron_documents"] = write_megatron(spark, directory, by_split, tokenizer.vocab_size)
    if config.datatrove:
        result["datatrove_documents"] = write_datatrove(directory, by_split, tokenizer_name=tokenizer.info.path,
                                                        vocab_size=tokenizer.vocab_size)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(documents_options(args), stage_config(args, STAGE, TokenizeConfig))


def run(args: DocumentsOptions, config: TokenizeConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call."""
    columns = args.columns
    if config.tokenizer is None:
        raise ConfigError("tokenize needs a tokenizer: give --tokenizer PATH/tokenizer.json "
                          "(or `tokenize.tokenizer` in the config file)")
    tokenizer = load_tokenizer(config.tokenizer, config.eos_token, config.bos_token)
    check_output(args.output, [args.input, config.tokenizer], stage=STAGE)
    for flag, wanted in (("--megatron", config.megatron), ("--datatrove", config.datatrove)):
        if wanted and is_store(args.output):
            raise ConfigError(f"{flag} writes its files on local or shared disk, not to {args.output}: "
                              f"tokenize to a local path, or leave {flag} out")
    spark = get_spark("dataflow-tokenize")
    docs = read_stage_input(spark, args.input, columns)
    if config.languages:
        docs = docs.where(F.col("language").isin(config.languages))
    output, fs = python_output(spark, args.output)
    stage = Stage(STAGE, output, config,
                  [stage_input_identity(spark, args.input, columns), tokenizer.info.sha256], force=args.force)
    partial = None if is_store(args.output) else resumable_partial(spark, stage)
    stats = run_output(spark, stage, lambda tmp: write_source(spark, docs, args.input, config, tokenizer, tmp, partial),
                       fs)
    if partial is not None:
        HadoopFS(spark).delete(partial)  # published (or complete already): its shards are in the output now
    if not stats.get("skipped"):
        log.warning("tokenize %s: %d documents, %d tokens (%d documents held out) in %.1fs -> %s", config.source,
                    stats["documents"], stats["tokens"], stats["splits"]["validation"]["documents"],
                    stats["seconds"], args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
