"""The mixed stream into shards, inside Spark tasks: the engine-free core of the `mix` stage.

Shard k of a mixture output holds positions [k * S, (k + 1) * S) of `MixedStream` (the
stream the trainer samples, dataflow/mix/mixture.py), so a task needs only its shard number: it
opens the sources (memory maps), draws its positions block by block and writes them with
`SequenceShardWriter`. Repetition is worked out per source shard from the same maths: a
source read for c draws reads each of its windows `SourceWindows.read_counts(c)` times, and
a document is repeated when a window holding one of its target tokens is read twice or more.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Iterator
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from dataflow.config import StrictModel
from dataflow.errors import InputError
from dataflow.mix.mixture import Mixture, MixedStream, open_stream
from dataflow.mix.sequences import SequenceShardWriter
from dataflow.shards import TokenDataset

#: Positions drawn and written at a time: bounds a task's memory to this many sequences.
BLOCK_SEQUENCES = 1024
REPEATED_SCHEMA = pa.schema([pa.field("source", pa.string()), pa.field("shard", pa.int32()),
                             pa.field("document", pa.int64()), pa.field("times_read", pa.int64())])


class MixConfig(StrictModel):
    """Settings of the `mix` stage (token datasets + mixture file -> shuffled, sharded sequences)."""

    format: Literal["native", "megatron"] = "native"
    """native: seq_len + 1 tokens per sequence; megatron: Megatron-LM/NeMo .bin/.idx pairs
    (dataflow/mix/sequences.py)."""
    max_shard_tokens: int = Field(1 << 26, gt=0)
    """Tokens per shard file at most (64M: 128 MB as uint16); one Spark task writes one shard."""
    tokenizer: str | None = None
    """If set, every source must have been tokenised with this tokenizer.json (sha256 compared)."""


@functools.lru_cache(maxsize=1)
def worker_stream(mixture_json: str) -> MixedStream:
    """The mixed stream over the mixture's training datasets, opened once per Python worker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the driver already warned about weights that do not sum to 1
        mixture = Mixture.model_validate_json(mixture_json)
    return open_stream(mixture)


def write_shards(batches: Iterable[pa.RecordBatch], *, directory: str, mixture_json: str, format: str,
                 vocab_size: int, sequences_per_shard: int, num_sequences: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: input rows (shard), output rows (shard, entry JSON); writes `directory/<shard>.*`."""
    stream = worker_stream(mixture_json)
    for batch in batches:
        entries = []
        for shard in batch.column("shard").to_pylist():
            first = shard * sequences_per_shard
            last = min(num_sequences, first + sequences_per_shard)
            writer = SequenceShardWriter(directory, shard, first, format=format, vocab_size=vocab_size,
                                         seq_len=stream.seq_len)
            try:
                for start in range(first, last, BLOCK_SEQUENCES):
                    writer.add(*stream.sequences(start, min(last, start + BLOCK_SEQUENCES)))
            except BaseException:
                writer.abort()
                raise
            entries.append({"shard": shard, "entry": writer.close().model_dump_json()})
        yield pa.RecordBatch.from_pylist(entries, schema=pa.schema([("shard", pa.int32()), ("entry", pa.string())]))


def repeated_documents(batches: Iterable[pa.RecordBatch], *, mixture_json: str,
                       num_sequences: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: input rows (source, position of a shard in its manifest), output
    REPEATED_SCHEMA rows for that shard's documents read more than once."""
    stream = worker_stream(mixture_json)
    for batch in batches:
        for name, position in zip(batch.column("source").to_pylist(), batch.column("position").to_pylist()):
            dataset = stream.datasets[name]
            first = np.concatenate([[0], np.cumsum(dataset.windows_per_shard(stream.seq_len))])
            reads = _window_reads(mixture_json, name, num_sequences)[first[position]:first[position + 1]]
            times = document_reads(dataset.doc_ends[position], reads, stream.seq_len)
            repeated = np.flatnonzero(times > 1)
            stem = int(dataset.manifest.shards[position].file.split(".")[0])
            yield pa.RecordBatch.from_arrays(
                [pa.array([name] * len(repeated), pa.string()), pa.array(np.full(len(repeated), stem), pa.int32()),
                 pa.array(repeated, pa.int64()), pa.array(times[repeated], pa.int64())], schema=REPEATED_SCHEMA)


@functools.lru_cache(maxsize=4)
def _window_reads(mixture_json: str, name: str, num_sequences: int) -> np.ndarray:
    """Times each window of source `name` is read by the first `num_sequences` positions."""
    stream = worker_stream(mixture_json)
    draws = int(stream.schedule.counts(num_sequences)[stream.names.index(name)])
    return stream.sources[name].read_counts(draws)


def document_reads(doc_ends: np.ndarray, window_reads: np.ndarray, seq_len: int) -> np.ndarray:
    """Times each document of a shard is read: the most any of its target tokens is read.

    Window w of a shard (`TokenDataset.read_windows`) predicts tokens w*L+1 .. w*L+L, so token
    t >= 1 is a target of window (t - 1) // L; tokens past the last whole window are never
    read. `window_reads` takes two values at most, f and f + 1 (`SourceWindows.read_counts`),
    so a document is read f + 1 times if any of its windows is, which a prefix sum answers.
    Documents 0..3 below end at tokens 3, 9, 10, 12; three windows of L = 3 cover targets 1..9:

    >>> document_reads(np.array([3, 9, 10, 12]), np.array([1, 2, 1]), 3).tolist()
    [1, 2, 1, 0]
    """
    ends = doc_ends.astype(np.int64)
    if not len(window_reads):
        return np.zeros(len(ends), dtype=np.int64)
    first_target = np.maximum(np.concatenate([[0], ends[:-1]]), 1)
    lo, hi = (first_target - 1) // seq_len, np.minimum((ends - 2) // seq_len, len(window_reads) - 1)
    readable = (ends > first_target) & (lo <= hi)
    lo, hi = np.where(readable, lo, 0), np.where(readable, hi, 0)
    base = int(window_reads.min())
    extra = np.concatenate([[0], np.cumsum(window_reads > base)])
    return np.where(readable, base + (extra[hi + 1] - extra[lo] > 0), 0)


def require_one_tokenizer(datasets: dict[str, TokenDataset], sha256: str | None = None) -> None:
    """Sources of one mixture must share one tokenizer (`sha256`, else the first source's):
    ids from two vocabularies cannot be mixed."""
    expected = sha256 or next(iter(datasets.values())).manifest.tokenizer.sha256
    for name, dataset in datasets.items():
        try:
            dataset.require_tokenizer(expected)
        except InputError as err:
            raise InputError(f"source '{name}': {err}") from None
