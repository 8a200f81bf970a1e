"""Work a stage commits piece by piece (per input file), so that a killed stage resumes where it stopped.

A stage's run writes into `<output>.tmp-<run id>` and publishes it whole (dataflow/stage.py), so a
driver killed after hours loses everything. A stage whose tasks are long (extract: one WARC file
per task; tokenize: one shard per task) therefore first commits each piece's rows into a folder named
for its fingerprint:

    <output>.partial-<fingerprint[:16]>/
        files/<key>.parquet       the piece's annotated rows (kept and rejected), one Parquet file
        committed/<key>.json      written last: the commit marker, with the piece's own small stats
        _tmp/                     files being written (renamed into files/ and committed/ when whole)

`<key>` is a hash of the piece's name (the WARC path; tokenize's task number). Each file is written
under `_tmp/` and then renamed: atomic on local disks and HDFS, and on object stores a copy that appears whole, so a
reader never sees half a file; the marker, written after the rows, is what makes a piece count.
A rerun with the same fingerprint finds the markers and hands the tasks only the pieces without
one; the stage then reads every piece's rows back as its annotated plan and publishes as usual,
so the counts of stats.json come from the same aggregation as a clean run's. A changed config,
input or version gives another fingerprint, hence another folder: the stale one is deleted. The
tasks write through fsspec (s3://, hdfs://, local paths alike), one Arrow batch at a time, so a
task holds no more than one batch whatever its file's size. See docs/stages/resume.md.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from dataflow.remote import fsspec_url, local_path
from dataflow.schema import REJECT_REASON

FILES_DIR = "files"
COMMITTED_DIR = "committed"
TMP_DIR = "_tmp"
PARTIAL_INFIX = ".partial-"


def partial_dir(output: str, fingerprint: str) -> str:
    """The folder of a stage run's committed pieces, beside its output and named for its fingerprint."""
    return f"{output.rstrip('/')}{PARTIAL_INFIX}{fingerprint[:16]}"


def piece_key(name: str) -> str:
    """A piece's file name: a hash of its name (WARC paths hold slashes and may be long)."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]


def committed_keys(marker_names: Iterable[str]) -> set[str]:
    """The keys of committed pieces, from the names found in `committed/`."""
    return {name.rsplit("/", 1)[-1].removesuffix(".json") for name in marker_names if name.endswith(".json")}


def commit_piece(folder: str, name: str, batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                 storage_options: dict[str, Any] | None = None) -> dict:
    """Write `batches` (one piece's rows) as `files/<key>.parquet`, then its marker; return the marker's stats.

    Streams: one batch in memory at a time. A rerun of the same piece (a retried task) writes the
    same rows again and replaces the earlier file whole.
    """
    fs, root = fsspec.core.url_to_fs(fsspec_url(local_path(folder)), **(storage_options or {}))
    key, attempt = piece_key(name), uuid.uuid4().hex[:12]
    for sub in (FILES_DIR, COMMITTED_DIR, TMP_DIR):
        fs.makedirs(f"{root}/{sub}", exist_ok=True)
    rows, reasons = 0, Counter()
    tmp_rows = f"{root}/{TMP_DIR}/{key}-{attempt}.parquet"
    with fs.open(tmp_rows, "wb") as stream, pq.ParquetWriter(stream, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
            # tokenize's rows carry no reject reason: all of them are kept
            reasons.update(batch.column(REJECT_REASON).to_pylist() if REJECT_REASON in schema.names
                           else {None: batch.num_rows})
    fs.mv(tmp_rows, f"{root}/{FILES_DIR}/{key}.parquet")
    kept = reasons.pop(None, 0)
    stats = {"name": name, "rows": rows, "kept": kept, "rejected_by_reason": dict(sorted(reasons.items()))}
    tmp_marker = f"{root}/{TMP_DIR}/{key}-{attempt}.json"
    with fs.open(tmp_marker, "wb") as stream:
        stream.write(json.dumps(stats, sort_keys=True).encode("utf-8"))
    fs.mv(tmp_marker, f"{root}/{COMMITTED_DIR}/{key}.json")
    return stats
