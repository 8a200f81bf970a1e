"""Mix: per-source token datasets and a mixture file to sampled, globally shuffled, sharded sequences.

    dataflow run mix --mixture mixtures/web-heavy.yaml --output shards/web-heavy
    dataflow run mix --mixture mixtures/web-heavy.yaml --output shards/web-heavy-megatron --format megatron
    spark-submit jobs/mix.py --mixture web-heavy.yaml --output /shared/shards/web-heavy

The output (dataflow/mix/sequences.py) is the first total_tokens // seq_len sequences of the
stream the trainer samples from the same mixture (dataflow/mix/mixture.py, `MixedStream`): the
schedule interleaves the sources at their token shares, and each source's windows are read
in a fresh seeded permutation per epoch, so the sequences are shuffled across the whole
output while each shard is a pure function of its number. One Spark task writes one shard,
reading the sources through memory maps, so the sources and the output must be on paths that
the driver and every executor see, or on object storage (`s3://`: sources read by byte ranges,
shards uploaded by their tasks; docs/formats.md, "Object storage"). A second small job lists the
documents read more than once in repeated/ (with their ids from the sources' documents/ tables).
"""

from __future__ import annotations

import functools
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from dataflow.errors import ConfigError
from dataflow.object_store import FsspecFS, file_size, hadoop_url, is_store, join
from dataflow.mix.write import REPEATED_SCHEMA, MixConfig, repeated_documents, require_one_tokenizer, write_shards
from dataflow.mix.mixture import Mixture, MixedStream, load_mixture, open_sources, plan_mixture
from dataflow.stage import check_output
from dataflow.mix.sequences import (KIND, MixtureManifest, SequenceShard, SourceReport, sequence_dtype,
                                write_mixture_manifest)
from dataflow.shards import FORMAT_VERSION, MANIFEST, TokenDataset, file_sha256
from dataflow.tokenize.encode import DOCUMENTS_DIR
from dataflow.tokenize.tokenizer import load_tokenizer
from jobs.common.arguments import StageOptions, stage_config, stage_parser
from jobs.common.spark import get_spark
from jobs.common.stage_io import Stage, python_output, run_output, write_parquet

STAGE = "mix"
REPEATED_DIR = "repeated"

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, MixConfig, output_help="mixture output folder: a path the driver "
                                                                 "and all executors see, or an s3:// URL")
    parser.add_argument("--mixture", required=True, help="mixture YAML file (name, total_tokens, seq_len, seed, "
                                                         "sources: {name: {path, weight, max_epochs}})")
    return parser.parse_args(argv)


def resolved_mixture(path: str) -> Mixture:
    """The mixture with absolute source paths: executors may not share the driver's working directory."""
    mixture = load_mixture(path)
    data = mixture.model_dump()
    for spec in data["sources"].values():
        if not is_store(spec["path"]):  # a URL is absolute already
            spec["path"] = str(Path(spec["path"]).resolve())
    return Mixture.model_validate(data)


def write_mixture(spark: SparkSession, mixture: Mixture, datasets: dict[str, TokenDataset], config: MixConfig,
                  tmp: str) -> dict:
    """Fill the temporary folder `tmp`: shards, repeated/, manifest.json; return the figures."""
    directory = tmp.removeprefix("file://")
    require_one_tokenizer(datasets, load_tokenizer(config.tokenizer).info.sha256 if config.tokenizer else None)
    stream = MixedStream(datasets, mixture.shares, seq_len=mixture.seq_len, seed=mixture.seed)
    windows = stream.num_windows
    plan = plan_mixture(mixture, {name: count * mixture.seq_len for name, count in windows.items()})
    num_sequences = mixture.total_tokens // mixture.seq_len
    if num_sequences == 0:
        raise ConfigError(f"mixture {mixture.name}: total_tokens {mixture.total_tokens} is less than one sequence "
                          f"of seq_len {mixture.seq_len}")
    first = next(iter(datasets.values())).manifest
    per_shard = max(1, config.max_shard_tokens // (mixture.seq_len + 1))
    num_shards = math.ceil(num_sequences / per_shard)
    mixture_json = mixture.model_dump_json()
    work = functools.partial(write_shards, directory=directory, mixture_json=mixture_json, format=config.format,
                             vocab_size=first.vocab_size, sequences_per_shard=per_shard, num_sequences=num_sequences)
    shards = spark.createDataFrame(spark.sparkContext.parallelize([(k,) for k in range(num_shards)], num_shards),
                                   "shard INT")
    entries = shards.mapInArrow(work, "shard INT, entry STRING").collect()  # one small row per shard
    counts = dict(zip(stream.names, stream.schedule.counts(num_sequences).tolist()))
    repeated = _write_repeated(spark, mixture, stream, counts, mixture_json, num_sequences, f"{tmp}/{REPEATED_DIR}")
    sources = {name: SourceReport(
        path=mixture.sources[name].path,
        train_manifest_sha256=file_sha256(join(datasets[name].path, MANIFEST)),
        target_share=plan[name].share, realised_share=counts[name] / num_sequences, target_tokens=plan[name].tokens,
        realised_tokens=counts[name] * mixture.seq_len, available_tokens=windows[name] * mixture.seq_len,
        epochs=counts[name] / windows[name], max_epochs=mixture.sources[name].max_epochs,
        repeated_documents=repeated.get(name, 0)) for name in stream.names}
    manifest = MixtureManifest(
        format_version=FORMAT_VERSION, kind=KIND, format=config.format, name=mixture.name, seq_len=mixture.seq_len,
        seed=mixture.seed, total_tokens=mixture.total_tokens, num_sequences=num_sequences, tokenizer=first.tokenizer,
        vocab_size=first.vocab_size, dtype=sequence_dtype(config.format, first.vocab_size).name, eos_id=first.eos_id,
        mixture=mixture.model_dump(mode="json"), sources=sources, config=config.model_dump(mode="json"),
        shards=sorted((SequenceShard.model_validate_json(row["entry"]) for row in entries),
                      key=lambda entry: entry.first_sequence))
    write_mixture_manifest(directory, manifest)
    return {"name": mixture.name, "format": config.format, "sequences": num_sequences,
            "tokens": num_sequences * mixture.seq_len, "shards": num_shards,
            "bytes": sum(file_size(join(directory, entry.file)) for entry in manifest.shards),
            "tokenizer": first.tokenizer.model_dump(), "repeated_documents": sum(repeated.values()),
            "shares": {name: {"target": report.target_share, "realised": report.realised_share}
                       for name, report in sources.items()}}


def _write_repeated(spark: SparkSession, mixture: Mixture, stream: MixedStream, counts: dict[str, int],
                    mixture_json: str, num_sequences: int, path: str) -> dict[str, int]:
    """Write repeated/ (source, shard, document, id, times_read); return repeated documents per source.

    Only sources read past one epoch can repeat; one task per shard of those.
    """
    work_rows = [(name, position) for name in stream.names if counts[name] > stream.num_windows[name]
                 for position in range(len(stream.datasets[name].manifest.shards))]
    schema = "source STRING, position INT"
    tasks = spark.createDataFrame(spark.sparkContext.parallelize(work_rows, max(1, len(work_rows))), schema)
    work = functools.partial(repeated_documents, mixture_json=mixture_json, num_sequences=num_sequences)
    repeated = tasks.mapInArrow(work, from_arrow_schema(REPEATED_SCHEMA))
    ids = _document_ids(spark, mixture, {name for name, _ in work_rows})
    if ids is not None:
        repeated = repeated.join(ids, ["source", "shard", "document"], "left")
    else:
        repeated = repeated.withColumn("id", F.lit(None).cast("string"))
    # Persisted because two actions read it (the write, the counts) and a store's Parquet is not read back by Spark.
    rows = repeated.select("source", "shard", "document", "id", "times_read").persist(StorageLevel.MEMORY_AND_DISK)
    try:
        write_parquet(rows, path)
        return {row["source"]: row["count"] for row in rows.groupBy("source").count().collect()}  # one row per source
    finally:
        rows.unpersist()


def _document_ids(spark: SparkSession, mixture: Mixture, names: set[str]) -> DataFrame | None:
    """(source, shard, document, id) of the training documents of `names`, from their documents/ tables."""
    frames = []
    for name in sorted(names):
        folder = join(mixture.sources[name].path, DOCUMENTS_DIR)
        if FsspecFS().exists(folder) if is_store(folder) else folder.is_dir():  # Spark reads a store's through s3a
            frames.append(spark.read.parquet(hadoop_url(str(folder))).where(F.col("split") == "train")
                          .select(F.lit(name).alias("source"), "shard", "document", "id"))
    return functools.reduce(DataFrame.unionByName, frames) if frames else None


@dataclass(frozen=True, kw_only=True)
class MixOptions(StageOptions):
    mixture: str
    """The mixture YAML file (name, total_tokens, seq_len, seed, sources)."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = MixOptions(mixture=args.mixture, output=args.output, force=args.force)
    return run(options, stage_config(args, STAGE, MixConfig))


def run(args: MixOptions, config: MixConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call."""
    mixture = resolved_mixture(args.mixture)
    datasets = open_sources(mixture, "train")  # refuses, naming it, a source that is missing or unreadable
    inputs = [mixture.model_dump(mode="json"), *(file_sha256(join(d.path, MANIFEST)) for d in datasets.values())]
    check_output(args.output, [args.mixture, *(str(spec.path) for spec in mixture.sources.values())], stage=STAGE)
    spark = get_spark("dataflow-mix")
    output, fs = python_output(spark, args.output)
    stage = Stage(STAGE, output, config, inputs, force=args.force)
    stats = run_output(spark, stage, lambda tmp: write_mixture(spark, mixture, datasets, config, tmp), fs)
    if not stats.get("skipped"):
        shares = ", ".join(f"{name} {share['realised']:.4f} (target {share['target']:.4f})"
                           for name, share in stats["shares"].items())
        log.warning("mix %s: %d sequences, %d tokens in %d shards (%s), %d repeated documents in %.1fs -> %s",
                    stats["name"], stats["sequences"], stats["tokens"], stats["shards"], shares,
                    stats["repeated_documents"], stats["seconds"], args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
