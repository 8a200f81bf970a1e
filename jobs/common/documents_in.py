"""Documents in: every document stage reads the formats users hold, through Spark's readers.

What `--input` may name, and how its kind is told (docs/formats.md has the table):

- a stage output (`data/` with `stats.json`, `_SUCCESS` or `rejected/` beside it): read as is, and refused
  while incomplete; when its `data/` holds JSON Lines (a `dataflow export --format jsonl` folder), its
  document columns and `metadata` are read from the JSON Lines;
- a Hugging Face dataset folder: Parquet shards under `data/` (the Hub's layout, FineWeb's nested
  `data/<crawl>/*.parquet` included), or a `datasets.save_to_disk` folder (`state.json` naming Arrow
  stream files), read by one Spark task per Arrow file;
- JSON Lines: a file or a folder of `.jsonl`/`.json`/`.ndjson` files, plain, `.gz` or `.zst` (Spark 4.3's
  Hadoop codecs decompress both, streaming);
- Parquet: a file or a folder.

A dataset in the document schema already (all of `dataflow/schema.py`'s base columns, as a copied stage
output's `data/` has) passes unchanged. Any other is mapped onto the schema (`map_columns`): `text` from
`--text-column`, `id` from `--id-column` (default `id`) or, when the data has no such column, from the
content: the first 32 hex digits (128 bits) of the SHA-256 of the text's UTF-8 bytes, so the same text
gets the same id in every run and on every cluster, and exact duplicates share one (dedup keeps one).
Base columns the data holds under their own names and types (`url`, `language`, ...) fill theirs; every
other column travels on as one `metadata` column, a JSON object per row, that no stage reads or
overwrites and `dataflow export` writes back out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import NumericType

from dataflow import stage as contract
from dataflow.errors import InputError
from dataflow.schema import DOC_FIELDS
from jobs.common.stage_io import HadoopFS

METADATA = "metadata"
#: What is read of a `dataflow export --format jsonl` folder: the document columns and `metadata`, typed as a
#: stage wrote them (Spark's JSON writer leaves null fields out, so a column null on every row would be missing
#: from an inferred schema); the exported stage's own columns (`filter_values`, ...) are left out.
EXPORTED_JSON_SCHEMA = from_arrow_schema(pa.schema([*DOC_FIELDS, pa.field(METADATA, pa.string())]))
JSON_SUFFIXES = tuple(f"{ext}{codec}" for ext in (".jsonl", ".json", ".ndjson") for codec in ("", ".gz", ".zst"))
STAGE_MARKERS = (contract.STATS_FILE, contract.SUCCESS_FILE, contract.REJECTED_DIR)
HF_STATE_FILE = "state.json"  # written by datasets.Dataset.save_to_disk beside its Arrow files


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns of a foreign dataset hold the text and the id (None: `id` when present, else generated)."""

    text: str = "text"
    id: str | None = None

    def identity(self, path: str) -> str | dict:
        """What a downstream fingerprint records of a foreign input: its path, with the mapping when not
        the default (so a changed --text-column recomputes the stage)."""
        return path if self == ColumnMapping() else {"path": path, "text_column": self.text, "id_column": self.id}


def add_input_flags(parser: argparse.ArgumentParser) -> None:
    """--input and the column mapping, the same for every document stage."""
    parser.add_argument("--input", required=True,
                        help="documents: a stage output folder, Parquet, JSON Lines (.jsonl, .gz, .zst) or a "
                             "Hugging Face dataset folder (docs/formats.md)")
    add_column_flags(parser)


def add_column_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-column", default="text", help="column holding the text in a dataset that is "
                                                               "not a stage output [default: text]")
    parser.add_argument("--id-column", help="column holding the document id [default: id when present, else a "
                                            "hash of the text]")


def column_mapping(args: argparse.Namespace) -> ColumnMapping:
    return ColumnMapping(text=args.text_column, id=args.id_column)


def read_documents(spark: SparkSession, path: str, columns: ColumnMapping = ColumnMapping()) -> DataFrame:
    """The documents at `path`, whatever their kind (module docstring), in the document schema."""
    fs, root = HadoopFS(spark), path.rstrip("/")
    entries = fs.entries(root)
    if entries is None:
        raise InputError(f"input {path} does not exist")
    data = f"{root}/{contract.DATA_DIR}"
    if contract.DATA_DIR in entries and (set(entries) & set(STAGE_MARKERS) or not fs.entries(data)):
        if contract.complete_stats(fs, root) is None:
            raise InputError(f"{path} is an incomplete stage output (no {contract.SUCCESS_FILE}, or files missing): "
                             "rerun the stage that writes it")
        if _is_json(data, fs.entries(data) or []):  # `dataflow export --format jsonl`: JSON Lines in a stage's layout
            return spark.read.schema(EXPORTED_JSON_SCHEMA).option("recursiveFileLookup", "true").json(data)
        return spark.read.parquet(data)
    if HF_STATE_FILE in entries:
        raw = _read_arrow_dataset(spark, fs, root)
    elif contract.DATA_DIR in entries:
        raw = spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", "*.parquet").parquet(data)
    elif _is_json(root, entries):
        raw = spark.read.option("recursiveFileLookup", "true").json(root)
    else:
        raw = spark.read.parquet(root)
    return map_columns(raw, columns, path)


def _is_json(root: str, entries: list[str]) -> bool:
    """A JSON Lines file, or a folder whose files are all JSON Lines (hidden and `_` files aside)."""
    if root.endswith(JSON_SUFFIXES):
        return True
    names = [name for name in entries if not name.startswith((".", "_"))]
    return bool(names) and all(name.endswith(JSON_SUFFIXES) for name in names)


def _read_arrow_dataset(spark: SparkSession, fs: HadoopFS, root: str) -> DataFrame:
    """A `save_to_disk` folder: its Arrow stream files, one Spark task each, batches streamed (memory bounded
    by one record batch). The schema is read from the first file's header, not its rows."""
    state = json.loads(fs.read_bytes(f"{root}/{HF_STATE_FILE}"))
    files = [f"{root}/{item['filename']}" for item in state.get("_data_files", [])]
    if not files:
        raise InputError(f"{root}/{HF_STATE_FILE} names no Arrow file: save the dataset again with "
                         "Dataset.save_to_disk, or give its Parquet files")
    with pa.OSFile(_local(files[0])) as source:
        schema = pa.ipc.open_stream(source).schema
    paths = spark.createDataFrame([(_local(name),) for name in files], "path string")
    return paths.repartition(len(files)).mapInArrow(_arrow_batches, from_arrow_schema(schema))


def _local(path: str) -> str:
    if "://" in path and not path.startswith("file:"):
        raise InputError(f"{path}: a save_to_disk folder is read from a local or shared filesystem; "
                         "on object storage give its Parquet export (Dataset.to_parquet)")
    return path.removeprefix("file://").removeprefix("file:")


def _arrow_batches(batches):
    """mapInArrow body: the record batches of each Arrow stream file named in the `path` column."""
    for batch in batches:
        for path in batch.column("path").to_pylist():
            with pa.memory_map(path) as source:
                yield from pa.ipc.open_stream(source)


def map_columns(raw: DataFrame, columns: ColumnMapping, path: str) -> DataFrame:
    """`raw` in the document schema (module docstring); unchanged when it already is in it."""
    names = set(raw.columns)
    if {field.name for field in DOC_FIELDS} <= names:
        return raw
    if columns.text not in names:
        raise InputError(f"{path} has no column {columns.text!r} to take the text from: give --text-column, one of "
                         f"{sorted(names)}")
    id_column = columns.id or ("id" if "id" in names else None)
    if id_column is not None and id_column not in names:
        raise InputError(f"{path} has no column {id_column!r} for --id-column: one of {sorted(names)}, or leave the "
                         "flag out to derive ids from the text")
    source_types = {field.name: field.dataType for field in raw.schema.fields}
    mapped, used = [], {columns.text, id_column}
    for field in from_arrow_schema(pa.schema(DOC_FIELDS)).fields:
        if field.name == "text":
            column = F.col(columns.text).cast("string")
        elif field.name == "id":
            column = F.col(id_column).cast("string") if id_column else content_id(F.col(columns.text))
        elif field.name in names and _fits(source_types[field.name], field.dataType):
            column = F.col(field.name).cast(field.dataType)
            used.add(field.name)
        else:
            column = F.lit(None).cast(field.dataType)
        mapped.append(column.alias(field.name))
    extras = [name for name in raw.columns if name not in used]
    metadata = F.to_json(F.struct(*[F.col(name) for name in extras])) if extras else F.lit(None).cast("string")
    return raw.select(*mapped, metadata.alias(METADATA))


def content_id(text: Column) -> Column:
    """A document's id from its text: 128 bits of SHA-256 as 32 hex digits (`hashlib.sha256(text.encode())
    .hexdigest()[:32]` in Python)."""
    return F.substring(F.sha2(text, 256), 1, 32)


def _fits(source, target) -> bool:
    """Whether a column can fill a base column of type `target` without losing what it says."""
    return source == target or (isinstance(source, NumericType) and isinstance(target, NumericType))
