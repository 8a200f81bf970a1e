"""Export: a stage's documents out to the formats other tools read, written by Spark (no rows pass the driver).

    dataflow export out/clean --format hf --output exports/clean-hf
    dataflow export out/clean --format jsonl --compression gzip --output exports/clean-jsonl
    huggingface-cli upload USER/NAME exports/clean-hf . --repo-type dataset     # publishing: one command

`--format jsonl` writes JSON Lines shards under data/ (Spark's `part-*.json`, one document per line, every
column). `--format hf` writes a Hugging Face dataset folder: Parquet shards under data/ and a README.md dataset
card whose YAML header `datasets.load_dataset(folder)` and the Hub read (dataflow/export/card.py), with the
funnel and the stage's stats. Map columns (`filter_values`) become JSON strings there, since `datasets` has no
map type. The export keeps the stage contract: written into a temporary folder and renamed into place with
stats.json and _SUCCESS, skipped when complete and current.
"""

from __future__ import annotations

import argparse
import json
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from dataflow import stage as contract
from dataflow.export.card import dataset_card, local_funnel
from dataflow.stage import check_output
from jobs.common.documents_in import add_column_flags, column_mapping
from jobs.common.spark import get_spark
from jobs.common.stage_io import HadoopFS, Stage, read_stage_input, run_output, stage_input_identity

STAGE = "export"
DATA_GLOB = f"{contract.DATA_DIR}/*.parquet"
CARD_FILE = "README.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dataflow export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", metavar="STAGE_OUTPUT", help="documents to export: a stage output folder (or any "
                                                              "input a document stage reads, docs/formats.md)")
    parser.add_argument("--format", required=True, choices=("jsonl", "hf"), help="jsonl: JSON Lines shards; hf: a "
                                                                                 "Hugging Face dataset folder")
    parser.add_argument("--output", required=True, help="export folder (local path, hdfs://, s3a://)")
    parser.add_argument("--compression", choices=("none", "gzip", "zstd"), default="none",
                        help="jsonl shards' compression [default: none]")
    parser.add_argument("--num-shards", type=int, help="number of shards [default: one per Spark partition]")
    parser.add_argument("--force", action="store_true", help="rewrite even if the export is complete and current")
    add_column_flags(parser)
    return parser.parse_args(argv)


def hf_columns(docs: DataFrame) -> DataFrame:
    """`docs` with its map columns as JSON strings: `datasets` has no map type."""
    return docs.select(*[F.to_json(field.name).alias(field.name) if isinstance(field.dataType, MapType)
                         else F.col(field.name) for field in docs.schema.fields])


def write_export(spark: SparkSession, docs: DataFrame, args: argparse.Namespace, tmp: str) -> dict:
    if args.num_shards:
        docs = docs.repartition(args.num_shards)
    data = f"{tmp}/{contract.DATA_DIR}"
    if args.format == "jsonl":
        docs.write.option("compression", args.compression).json(data)
        return {"format": "jsonl"}
    hf_columns(docs).write.parquet(data)
    fs = HadoopFS(spark)
    stats_path = f"{args.input.rstrip('/')}/{contract.STATS_FILE}"
    stats = json.loads(fs.read_bytes(stats_path)) if fs.exists(stats_path) else {"input": args.input}
    name = args.output.rstrip("/").rsplit("/", 1)[-1]
    fs.write_bytes(f"{tmp}/{CARD_FILE}", dataset_card(name, stats, local_funnel(args.input), DATA_GLOB).encode())
    return {"format": "hf", "data_files": DATA_GLOB}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    columns = column_mapping(args)
    check_output(args.output, [args.input], stage=STAGE)
    spark = get_spark("dataflow-export")
    docs = read_stage_input(spark, args.input, columns)
    config = {"format": args.format, "compression": args.compression, "num_shards": args.num_shards}
    stage = Stage(STAGE, args.output, config, [stage_input_identity(spark, args.input, columns)], force=args.force)
    stats = run_output(spark, stage, lambda tmp: write_export(spark, docs, args, tmp))
    if not stats.get("skipped"):
        print(f"export: {args.input} -> {args.output} ({args.format}) in {stats['seconds']:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
