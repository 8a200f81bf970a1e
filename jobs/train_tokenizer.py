"""Train a byte-level BPE tokenizer on a bounded, seeded sample of documents drawn in Spark.

    dataflow tokenizer train --input out/clean --vocab-size 32000 --output tok/tokenizer.json
    spark-submit jobs/train_tokenizer.py --input s3a://bucket/clean --output tok/tokenizer.json

The sample is the documents with the smallest hash of (seed, id), up to `max_sample_bytes` of
text: the same input and seed give the same sample on any cluster. Spark pre-selects about
that many bytes by the hash and sorts them; the driver streams the sorted rows partition by
partition into the trainer, so only the sample ever reaches it, and it stops at the budget.

An --output that does not end in `.json` is a stage folder (dataflow/stage.py): tokenizer.json,
stats.json (documents and bytes sampled, vocabulary size, sha256, fingerprint) and _SUCCESS. Its
fingerprint covers the config and the input stage's fingerprint, so a rerun reuses the tokenizer
only while both are unchanged (the pipeline's `tokenizer/`); a plain `.json` output is refused
when it exists, as datasets made with it would no longer match.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dataflow.errors import InputError, UserError
from dataflow.object_store import staged
from dataflow.stage import check_apart, check_output
from dataflow.tokenize.tokenizer import TOKENIZER_FILE, TokenizerTrainConfig, save_tokenizer, train_byte_level_bpe
from jobs.common.arguments import DocumentsOptions, documents_options, stage_config, stage_parser
from jobs.common.spark import get_spark
from jobs.common.stage_io import (Stage, input_text_bytes, python_output, read_stage_input, run_output,
                                  stage_input_identity)

STAGE = "tokenizer"
HASH_UNITS = 1 << 40  # hash mod this, over this: a uniform key in [0, 1)
OVERSAMPLE = 1.25  # pre-select a quarter more than the budget, so that the budget is reached

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, TokenizerTrainConfig, prog="dataflow tokenizer train",
                          output_help="tokenizer.json to write, or a stage folder to hold it (local path or s3:// URL)",
                          force_help="overwrite an existing tokenizer (datasets made with it will then be refused)")
    parser.add_argument("--input", required=True, help="documents: a stage output folder or a Parquet folder")
    return parser.parse_args(argv)


def sample_texts(spark: SparkSession, docs: DataFrame, input_path: str, config: TokenizerTrainConfig,
                 taken: dict) -> Iterator[str]:
    """Texts in the order of their (seed, id) hash until `max_sample_bytes`; counts go into `taken`."""
    keyed = (docs.where(F.col("text").isNotNull() & (F.length("text") > 0))
             .select(F.pmod(F.xxhash64(F.lit(config.seed), F.col("id")), F.lit(HASH_UNITS)).alias("key"),
                     F.col("id"), F.col("text")))
    fraction = min(1.0, OVERSAMPLE * config.max_sample_bytes / max(1, input_text_bytes(spark, docs, input_path)))
    chosen = keyed.where(F.col("key") < F.lit(int(fraction * HASH_UNITS))).orderBy("key", "id")
    taken.update(documents=0, bytes=0)
    for row in chosen.toLocalIterator():
        size = len(row["text"].encode("utf-8"))
        if taken["bytes"] + size > config.max_sample_bytes:
            return
        taken["documents"] += 1
        taken["bytes"] += size
        yield row["text"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(documents_options(args), stage_config(args, STAGE, TokenizerTrainConfig))


def run(args: DocumentsOptions, config: TokenizerTrainConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call; `args.output` is a
    tokenizer.json to write or a stage folder to hold it."""
    if "://" in args.output and args.output.endswith(".json"):
        raise UserError(f"--output {args.output}: on object storage the tokenizer is written as a stage folder "
                        "(its tokenizer.json published with stats.json and _SUCCESS): give a folder URL")
    # A stage folder is replaced whole, so it must be ours (check_output); a .json file is refused below when it exists.
    if args.output.endswith(".json"):
        check_apart(args.output, [args.input])
    else:
        check_output(args.output, [args.input], stage=STAGE)
    spark = get_spark("dataflow-tokenizer-train")
    if not args.output.endswith(".json"):
        output, fs = python_output(spark, args.output)
        stage = Stage(STAGE, output, config, [stage_input_identity(spark, args.input)], force=args.force)
        stats = run_output(spark, stage, lambda tmp: train_into(spark, args.input, config, tmp), fs)
        if not stats.get("skipped"):
            log.warning("tokenizer: %d documents (%.1f MB) sampled in %.1fs -> %s", stats["documents"],
                        stats["bytes"] / 1e6, stats["seconds"], args.output)
        return 0
    output = Path(args.output)
    if output.exists() and not args.force:
        raise UserError(f"{output} exists; token datasets made with it would no longer match. "
                        "Choose another --output, or --force to overwrite")
    figures = train(spark, args.input, config, output)
    print(f"trained a {figures['vocab_size']}-token byte-level BPE on {figures['documents']:,} documents "
          f"({figures['bytes'] / 1e6:.1f} MB) -> {output.resolve()} (sha256 {figures['sha256'][:12]}…)")
    return 0


def train_into(spark: SparkSession, input_path: str, config: TokenizerTrainConfig, folder: str) -> dict:
    """Train into the stage's temporary folder, local or on object storage (written locally, then uploaded)."""
    with staged(folder) as local:
        return train(spark, input_path, config, local / TOKENIZER_FILE)


def train(spark: SparkSession, input_path: str, config: TokenizerTrainConfig, output: Path) -> dict:
    """Train on the input's sample and save to `output`; return the figures stats.json records."""
    taken: dict = {}
    tokenizer = train_byte_level_bpe(sample_texts(spark, read_stage_input(spark, input_path), input_path,
                                                  config, taken), config)
    if not taken["documents"]:
        raise InputError(f"no document of {input_path} has text (or max_sample_bytes is below the smallest one)")
    info = save_tokenizer(tokenizer, output)
    return {"input": input_path, "documents": taken["documents"], "bytes": taken["bytes"],
            "vocab_size": tokenizer.get_vocab_size(), "sha256": info.sha256}


if __name__ == "__main__":
    sys.exit(main())
