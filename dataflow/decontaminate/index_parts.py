"""The benchmark index in parts: one Spark task reads one benchmark file and n-grams its items.

`ngram_index.build_index` reads every benchmark in one process. The decontaminate job gives
each task one file instead (jobs/common/benchmark_index.py), so that neither the benchmark text
nor the index passes through the driver: a task emits one row per item (ITEM_SCHEMA) with the
item's n-gram hashes (`ngram_index.item_entries`, the same function `build_index` calls), and
Spark then drops the n-grams held by too many items or found in common phrases, as
`build_index` does with arrays.

An item's number is `file << 32 | row` (file: its place among all benchmark files, in
benchmark order; row: its record in the file), so sorting the items by number gives
`build_index`'s item order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

import numpy as np
import pyarrow as pa

from dataflow.decontaminate.benchmarks import BenchmarkSpec, file_items
from dataflow.decontaminate.ngram_index import ItemTexts, item_entries

#: One row per benchmark file to read: its benchmark (an index into the specs) and its place among all files.
FILE_SCHEMA = pa.schema([("benchmark", pa.int32()), ("file", pa.int32()), ("path", pa.string()),
                         ("several_files", pa.bool_())])
#: One row per item: `indexed` is false for an item shorter than the floor; `fields_found` has
#: bit k set when field k of its benchmark had text in this or an earlier row of its file.
ITEM_SCHEMA = pa.schema([("item", pa.int64()), ("benchmark", pa.int32()), ("item_id", pa.string()),
                         ("indexed", pa.bool_()), ("fields_found", pa.int64()), ("mostly_numbers", pa.int64()),
                         ("sizes", pa.list_(pa.int32())), ("hashes", pa.list_(pa.int64()))])
#: Items n-grammed at once: bounds a task's memory whatever the size of its file.
ITEMS_PER_BATCH = 10_000


def benchmark_item_batches(batches: Iterable[pa.RecordBatch], specs: list[BenchmarkSpec], ngram: int,
                           min_ngram: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: rows of FILE_SCHEMA in; ITEM_SCHEMA rows for every item of each file out."""
    for batch in batches:
        for file in batch.to_pylist():
            spec = specs[file["benchmark"]]
            found: set[str] = set()
            rows = enumerate(file_items(spec, file["path"], file["several_files"], found))
            while chunk := list(islice(rows, ITEMS_PER_BATCH)):
                mask = sum(1 << number for number, field in enumerate(spec.fields) if field in found)
                yield _item_batch(chunk, file, mask, ngram, min_ngram)


def _item_batch(chunk: list, file: dict, fields_found: int, ngram: int, min_ngram: int) -> pa.RecordBatch:
    texts = ItemTexts(min_ngram)
    numbers = [texts.add(file["benchmark"], item) for _, item in chunk]
    entries = item_entries(texts, ngram)
    by_item = np.argsort(entries.items, kind="stable")  # entries grouped by item, in item order
    pairs = np.unique((entries.items.astype(np.int64) << 32) | entries.sizes.astype(np.int64))
    hash_counts = np.bincount(entries.items, minlength=len(texts.item_ids))
    size_counts = np.bincount(pairs >> 32, minlength=len(texts.item_ids))
    indexed = np.array([number is not None for number in numbers])
    mostly_numbers = np.zeros(len(chunk), np.int64)
    hash_lengths, size_lengths = np.zeros(len(chunk), np.int64), np.zeros(len(chunk), np.int64)
    mostly_numbers[indexed] = entries.mostly_numbers
    hash_lengths[indexed], size_lengths[indexed] = hash_counts, size_counts
    return pa.RecordBatch.from_arrays([
        pa.array([(file["file"] << 32) | row for row, _ in chunk], pa.int64()),
        pa.array(np.full(len(chunk), file["benchmark"], np.int32)),
        pa.array([item.id for _, item in chunk], pa.string()),
        pa.array(indexed),
        pa.array(np.full(len(chunk), fields_found, np.int64)),
        pa.array(mostly_numbers),
        _lists(size_lengths, (pairs & 0xFFFFFFFF).astype(np.int32)),
        _lists(hash_lengths, entries.hashes[by_item].view(np.int64)),
    ], schema=ITEM_SCHEMA)


def _lists(lengths: np.ndarray, values: np.ndarray) -> pa.ListArray:
    offsets = np.zeros(len(lengths) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
