"""Token shards committed one task at a time, so that a killed `tokenize` resumes with the shards left.

Each write task owns one (split, shard) (jobs/tokenize_docs.py routes them so). Instead of writing
its shard straight into the run's temporary folder, which is published only whole, the task writes
it under the stage's partial folder (dataflow/partial.py) and commits its rows there:

    <output>.partial-<fingerprint[:16]>/
        shards/<split>/NNNNN.bin, .idx   the shard (dataflow/shards.py ShardWriter: renamed into place when whole)
        files/<key>.parquet              the task's rows: one per document, plus the shard's manifest entry
        committed/<key>.json             written last: the commit marker

`<key>` is the hash of `task_name(task, num_tasks)`. A shard's documents are a hash of their ids
and the config, so a rerun filters the documents of committed tasks out before encoding them and
runs only the rest; the driver then links every committed shard into the run's folder and reads
all pieces' rows back for documents/ and the manifests, as a clean run does. See docs/stages/resume.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from dataflow.partial import commit_piece
from dataflow.remote import local_path
from dataflow.shards import ShardEntry
from dataflow.tokenize.encode import TOKENIZE_OUTPUT_SCHEMA, write_partition
from dataflow.tokenize.megatron_docs import link_or_copy

SHARDS_DIR = "shards"
#: What `commit_shard` returns to Spark: one small row per committed task.
COMMITTED_SHARD_SCHEMA = pa.schema([pa.field("task", pa.int32()), pa.field("rows", pa.int64())])


def task_name(task: int, num_tasks: int) -> str:
    """A task's piece name; the task count is part of it, so pieces of another shard count never match."""
    return f"tokenize task {task:05d} of {num_tasks}"


def commit_shard(batches: Iterable[pa.RecordBatch], *, partial: str, num_shards: int, num_tasks: int,
                 vocab_size: int, eos_id: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body, one task per (split, shard): `write_partition` into the partial folder, its rows
    committed as the task's piece. A task left with no rows (its shard committed before) commits nothing."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    split, shard = first.column("split")[0].as_py(), first.column("shard")[0].as_py()
    task = shard + (num_shards if split == "validation" else 0)
    rows = write_partition(itertools.chain([first], batches), directory=f"{local_path(partial)}/{SHARDS_DIR}",
                           vocab_size=vocab_size, eos_id=eos_id)
    stats = commit_piece(partial, task_name(task, num_tasks), rows, TOKENIZE_OUTPUT_SCHEMA)
    yield pa.RecordBatch.from_pylist([{"task": task, "rows": stats["rows"]}], schema=COMMITTED_SHARD_SCHEMA)


def link_shards(partial: str, directory: str, split: str, shards: list[ShardEntry]) -> None:
    """Put the committed `shards` of `split` into the run's folder `directory` (hard links where possible:
    the partial folder keeps its copy until the output is published, so a kill in between loses nothing)."""
    source, target = Path(local_path(partial), SHARDS_DIR, split), Path(directory, split)
    target.mkdir(parents=True, exist_ok=True)
    for entry in shards:
        for name in (entry.file, entry.index_file):
            link_or_copy(source / name, target / name)
