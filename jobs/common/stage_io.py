"""Stage machinery on Spark, written once for every stage (the contract is in dataflow/stage.py).

`run_output` skips a complete stage (`complete_stats`) whose fingerprint is unchanged, else has
the stage write into a temporary folder named with a run id (only that run cleans it up) and
publishes it (stats.json, rename, then _SUCCESS), replacing only a folder that is a stage output.
`run_stage` is that for Parquet stages: it builds the annotated plan, writes kept and rejected
rows, and counts rows and bytes per reason with one DataFrame aggregation (never accumulators,
which double-count retried tasks). A stage may split an input row into several output rows
(decontaminate's excise): it names the column holding the parent row, and stats.json then
counts input rows apart from output rows and says how they add up. File operations go through
Hadoop's FileSystem API, so the same code works on file://, hdfs:// and s3a://.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from dataflow import stage as contract
from dataflow.errors import UserError
from dataflow.object_store import FsspecFS, is_store, join, upload
from dataflow.partial import PARTIAL_INFIX, partial_dir
from dataflow.schema import REJECT_REASON, REJECT_VALUE

if TYPE_CHECKING:  # documents_in imports this module at load time
    from jobs.common.documents_in import ColumnMapping

log = logging.getLogger(__name__)


class HadoopFS:
    """The few FileSystem calls the stage contract needs, for any Hadoop-supported URL."""

    def __init__(self, spark: SparkSession):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str):
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        fs = jpath.getFileSystem(self._conf)
        fs.setWriteChecksum(False)  # no .crc side files next to stats.json and _SUCCESS
        return fs, jpath

    def exists(self, path: str) -> bool:
        fs, jpath = self._fs(path)
        return fs.exists(jpath)

    def delete(self, path: str) -> None:
        fs, jpath = self._fs(path)
        fs.delete(jpath, True)

    def rename(self, src: str, dst: str) -> None:
        fs, jsrc = self._fs(src)
        if not fs.rename(jsrc, self._jvm.org.apache.hadoop.fs.Path(dst)):
            raise OSError(f"could not rename {src} to {dst}")

    def write_bytes(self, path: str, data: bytes) -> None:
        fs, jpath = self._fs(path)
        stream = fs.create(jpath, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def read_bytes(self, path: str) -> bytes:
        fs, jpath = self._fs(path)
        stream = fs.open(jpath)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    def entries(self, path: str) -> list[str] | None:
        """Names in folder `path` (a file lists as itself), or None when nothing is there."""
        fs, jpath = self._fs(path)
        if not fs.exists(jpath):
            return None
        return [status.getPath().getName() for status in fs.listStatus(jpath)]

    def file_sizes(self, path: str) -> dict[str, int]:
        return {name: size for name, (size, _) in self.file_stats(path).items()}

    def file_stats(self, path: str) -> dict[str, tuple[int, int]]:
        """Every file under folder `path` with its size and modification time (ms), from one recursive listing."""
        fs, jpath = self._fs(path)
        base = fs.makeQualified(jpath).toUri().getPath().rstrip("/") + "/"
        files, listing = {}, fs.listFiles(jpath, True)
        while listing.hasNext():
            status = listing.next()
            name = status.getPath().toUri().getPath().removeprefix(base)
            files[name] = (status.getLen(), status.getModificationTime())
        return files

    def siblings(self, pattern: str) -> list[str]:
        fs, jpath = self._fs(pattern)
        statuses = fs.globStatus(jpath) or []
        return [status.getPath().toString() for status in statuses]


def local_output(path: str) -> str:
    """A `file://` URL for an output that Python tasks write files into directly (token shards):
    such a folder must be on a filesystem the driver and every executor see, not hdfs:// or s3a://."""
    if "://" in path and not path.startswith("file://"):
        raise UserError(f"--output {path}: this stage's tasks write files directly, so the output must be a "
                        "local or shared-filesystem path (copy it to object storage afterwards)")
    return "file://" + os.path.abspath(path.removeprefix("file://"))


def python_output(spark: SparkSession, path: str) -> tuple[str, HadoopFS | FsspecFS]:
    """Where a stage whose files Python writes (the tokenizer) publishes, and through what: an object
    store URL (s3://, gs://, ...) through fsspec (dataflow/object_store.py), else a local or shared
    path through Hadoop's local filesystem."""
    if is_store(path):
        return path.rstrip("/"), FsspecFS()
    return local_output(path), HadoopFS(spark)


def write_parquet(frame: DataFrame, path: str) -> None:
    """`frame` as a Parquet folder at `path`. Spark's writer for what Hadoop's FileSystem reaches (a local
    or shared path); on object storage (a stage whose other files Python writes, `python_output`) each
    task writes its partition with pyarrow through fsspec as `part-NNNNN.parquet`, named by the partition
    so a retried task rewrites the same object, and the cluster needs no Hadoop connector for it."""
    if not is_store(path):
        frame.write.parquet(path)
        return
    write = functools.partial(_write_partition_parquet, folder=path)
    if not frame.mapInArrow(write, "rows LONG").collect():  # one row per non-empty partition
        import pyarrow.parquet as pq  # no row at all: still a folder that readers open, as Spark leaves one

        with tempfile.TemporaryDirectory(prefix="dataflow-parquet-") as tmp:
            pq.write_table(to_arrow_schema(frame.schema).empty_table(), f"{tmp}/part.parquet")
            upload(f"{tmp}/part.parquet", join(path, "part-00000.parquet"))


def _write_partition_parquet(batches, *, folder: str):
    """mapInArrow body of `write_parquet`: the partition's rows to one local file, then one upload."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark import TaskContext

    rows, writer = 0, None
    with tempfile.TemporaryDirectory(prefix="dataflow-parquet-") as tmp:
        local = f"{tmp}/part.parquet"
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(local, batch.schema, compression="zstd")
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is not None:
            writer.close()
            upload(local, join(folder, f"part-{TaskContext.get().partitionId():05d}.parquet"))
            yield pa.RecordBatch.from_pylist([{"rows": rows}])


def read_stage_input(spark: SparkSession, path: str, columns: ColumnMapping | None = None) -> DataFrame:
    """Documents of a stage output folder (its data/), or of a user's dataset (jobs/common/documents_in.py)."""
    from jobs.common.documents_in import ColumnMapping, read_documents  # it stands on this module's HadoopFS

    return read_documents(spark, path, columns or ColumnMapping())


def input_text_bytes(spark: SparkSession, docs: DataFrame, path: str) -> int:
    """UTF-8 bytes of the texts of an input: its stats.json says it (`bytes_out`); a plain
    Parquet folder is summed with one pass over `text`."""
    fs, stats = HadoopFS(spark), f"{path.rstrip('/')}/{contract.STATS_FILE}"
    if fs.exists(stats):
        recorded = json.loads(fs.read_bytes(stats)).get("bytes_out")
        if recorded is not None:
            return int(recorded)
    return int(docs.select(F.sum(F.octet_length("text"))).first()[0] or 0)


def stage_input_identity(spark: SparkSession, path: str, columns: ColumnMapping | None = None) -> Any:
    """What a downstream fingerprint records of an input: the input stage's own fingerprint, or for a
    user's dataset (Parquet, JSON Lines, a Hugging Face folder) its file list with sizes and modification
    times (one listing, no file read), so a folder regenerated in place is not taken for the one an
    existing output was made from, and its column mapping (a changed --text-column recomputes the stage)."""
    fs = HadoopFS(spark)
    stats_path = f"{path.rstrip('/')}/{contract.STATS_FILE}"
    if fs.exists(stats_path):
        return json.loads(fs.read_bytes(stats_path))["fingerprint"]
    files = sorted(fs.file_stats(path).items()) if fs.exists(path) else []
    listing = hashlib.sha256(json.dumps(files).encode()).hexdigest()
    return {"path": columns.identity(path) if columns is not None else path, "files": len(files),
            "bytes": sum(size for _, (size, _) in files), "listing_sha256": listing}


@dataclass
class Stage:
    """One run of a stage: its name, output folder, config and input identities."""

    name: str
    output: str
    config: Any
    inputs: list[Any]
    force: bool = False
    fingerprint: str = field(init=False)
    work_dir: str | None = field(init=False, default=None)
    """Scratch folder for `build()` (e.g. Spark checkpoints), inside the temporary output while
    the stage runs and deleted before the output is renamed into place."""

    def __post_init__(self):
        self.output = self.output.rstrip("/")
        config = self.config.model_dump(mode="json") if hasattr(self.config, "model_dump") else self.config
        self.fingerprint = contract.fingerprint(self.name, config, self.inputs)


def run_output(spark: SparkSession, stage: Stage, write: Callable[[str], dict],
               fs: HadoopFS | FsspecFS | None = None) -> dict:
    """Run `stage` unless its output is complete and current; return its stats.

    The contract every stage output keeps, whatever it holds (Parquet rows, token shards):
    `write(tmp)` fills the temporary folder `tmp` and returns the stage's own figures; this
    adds the stage name, fingerprint, config, inputs and seconds, writes stats.json and
    _SUCCESS, and renames the folder into place; through `fs`, Hadoop's FileSystem by default.
    """
    fs = fs or HadoopFS(spark)
    existing = contract.complete_stats(fs, stage.output)
    if existing is not None and existing.get("fingerprint") == stage.fingerprint and not stage.force:
        log.warning("%s: %s is complete and current; skipping (use --force to recompute)", stage.name, stage.output)
        return {**existing, "skipped": True}
    contract.check_replaceable(stage.output, fs.entries(stage.output),
                               lambda: fs.read_bytes(f"{stage.output}/{contract.STATS_FILE}"), stage=stage.name)
    started = time.time()
    stale = fs.siblings(f"{stage.output}.tmp-*")
    if stale:  # another run's, live or crashed: not ours to delete
        log.warning("%s: left in place, not this run's: %s (delete them once no run writes there)",
                    stage.name, ", ".join(stale))
    run_id = uuid.uuid4().hex[:12]
    tmp = f"{stage.output}.tmp-{run_id}"
    try:
        figures = write(tmp)
    except BaseException:
        if fs.exists(tmp):
            fs.delete(tmp)
        raise
    stats = {
        "stage": stage.name,
        "fingerprint": stage.fingerprint,
        "config": stage.config.model_dump(mode="json") if hasattr(stage.config, "model_dump") else stage.config,
        "inputs": stage.inputs if len(stage.inputs) <= 100 else {"count": len(stage.inputs)},
        **figures,
        "seconds": round(time.time() - started, 3),
    }
    return contract.publish(fs, tmp, stage.output, stats, run_id)


def resumable_partial(spark: SparkSession, stage: Stage) -> str:
    """The folder where `stage` commits its pieces (dataflow/partial.py), after deleting those of other
    fingerprints (a changed config or input: their pieces can never be reused), and this one's too
    under --force."""
    fs, ours = HadoopFS(spark), partial_dir(stage.output, stage.fingerprint)
    for folder in fs.siblings(f"{stage.output}{PARTIAL_INFIX}*"):
        if stage.force or not folder.rstrip("/").endswith(ours.rsplit("/", 1)[-1]):
            log.warning("%s: deleting %s (pieces of another config or input, or --force)", stage.name, folder)
            fs.delete(folder)
    return ours


def run_stage(spark: SparkSession, stage: Stage, build: Callable[[], DataFrame], *,
              skipped_reasons: tuple[str, ...] = (),
              extra_stats: Callable[[DataFrame], dict] | None = None,
              split_parent: str | None = None,
              extra_outputs: Callable[[DataFrame, str], dict] | None = None,
              storage_level: StorageLevel | None = StorageLevel.MEMORY_AND_DISK) -> dict:
    """Run a Parquet stage unless its output is complete and current (`run_output`); return its stats.

    `build()` returns the annotated plan: every input row once, with `reject_reason` null on
    kept rows. Rows whose reason is in `skipped_reasons` are counted but not written to
    rejected/ (e.g. WARC request records). `extra_stats(annotated)` adds stage-specific figures.
    A stage that splits rows names in `split_parent` the column (`struct.field` allowed) that
    holds, on each piece, the id of the input row it was cut from, null on whole rows; every
    input row then appears as one whole row or as pieces. `extra_outputs(annotated, folder)`
    writes further files into the output folder before it is renamed into place, and returns
    figures for stats.json's `extra`.
    `storage_level` is how the annotated plan is persisted between its reads: DISK_ONLY keeps
    a corpus-sized plan (every document's text) from competing for executor heap; None persists
    nothing, for a plan that is already files (extract's committed pieces, dataflow/partial.py).
    """

    def write(tmp: str) -> dict:
        stage.work_dir = f"{tmp}/_work"
        # Persisted because three actions consume the plan (kept rows, rejected rows, counts) and
        # recomputing it would rerun the stage's expensive work (extraction, scoring) each time.
        annotated = build() if storage_level is None else build().persist(storage_level)
        try:
            annotated.where(F.col(REJECT_REASON).isNull()).drop(REJECT_REASON, REJECT_VALUE) \
                .write.parquet(f"{tmp}/{contract.DATA_DIR}")
            annotated.where(F.col(REJECT_REASON).isNotNull() & ~F.col(REJECT_REASON).isin(list(skipped_reasons))) \
                .write.parquet(f"{tmp}/{contract.REJECTED_DIR}")
            figures = _count(annotated, skipped_reasons)
            if split_parent is not None:
                figures.update(_count_split(annotated, split_parent, figures))
            if extra_stats is not None:
                figures["extra"] = extra_stats(annotated)
            if extra_outputs is not None:
                figures.setdefault("extra", {}).update(extra_outputs(annotated, tmp))
        finally:
            annotated.unpersist()
        fs = HadoopFS(spark)
        if fs.exists(stage.work_dir):
            fs.delete(stage.work_dir)
        return figures

    stats = run_output(spark, stage, write)
    if not stats.get("skipped"):
        log.warning("%s: %d rows in, %d kept, %d rejected in %.1fs -> %s", stage.name, stats["rows_in"],
                    stats["rows_out"], stats["rows_rejected"], stats["seconds"], stage.output)
    return stats


def _count(annotated: DataFrame, skipped_reasons: tuple[str, ...]) -> dict:
    rows = annotated.groupBy(REJECT_REASON).agg(
        F.count(F.lit(1)).alias("rows"),
        F.coalesce(F.sum(F.octet_length("text")), F.lit(0)).alias("bytes"),
    ).collect()  # one row per reason: small by construction
    by_reason = {row[REJECT_REASON]: (row["rows"], row["bytes"]) for row in rows}
    kept_rows, kept_bytes = by_reason.pop(None, (0, 0))
    return {
        "rows_in": kept_rows + sum(count for count, _ in by_reason.values()),
        "rows_out": kept_rows,
        "rows_rejected": sum(count for count, _ in by_reason.values()),
        "rejected_by_reason": {reason: count for reason, (count, _) in sorted(by_reason.items())},
        "not_written_reasons": sorted(set(skipped_reasons) & set(by_reason)),
        "bytes_out": kept_bytes,
        "bytes_rejected": sum(size for _, size in by_reason.values()),
    }


SPLIT_ACCOUNTING = ("rows_in counts input rows: those kept whole, those rejected whole, and rows_split (cut "
                    "into pieces). rows_out and rejected_by_reason count output rows, a piece being one row: "
                    "rows_out = rows kept whole + pieces_out, rows_rejected = rows rejected whole + "
                    "the sum of pieces_rejected_by_reason.")


def _count_split(annotated: DataFrame, parent: str, stats: dict) -> dict:
    """Input rows and pieces of a stage that splits rows (see SPLIT_ACCOUNTING), in one aggregation:
    pieces per reason, and (the rollup's total row) the number of input rows they came from."""
    rows = annotated.where(F.col(parent).isNotNull()).rollup(REJECT_REASON).agg(
        F.count(F.lit(1)).alias("rows"), F.countDistinct(parent).alias("parents"),
        F.grouping(REJECT_REASON).alias("total")).collect()  # one row per reason, plus the total
    split = sum(row["parents"] for row in rows if row["total"])
    by_reason = {row[REJECT_REASON]: row["rows"] for row in rows if not row["total"]}
    pieces_out = by_reason.pop(None, 0)
    whole = stats["rows_out"] - pieces_out + stats["rows_rejected"] - sum(by_reason.values())
    return {
        "rows_in": whole + split,
        "rows_split": split,
        "pieces_out": pieces_out,
        "pieces_rejected_by_reason": dict(sorted(by_reason.items())),
        "accounting": SPLIT_ACCOUNTING,
    }
