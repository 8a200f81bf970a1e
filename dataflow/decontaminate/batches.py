"""Decontamination over Arrow batches: the engine-free core of the `decontaminate` stage.

Every document is matched against the benchmark n-gram index (dataflow/decontaminate/ngram_index.py) and
gets a `contamination` record when anything matched (null otherwise). Then the action:

- `annotate`: keep every document; the record says what leaked where.
- `drop`: reject a contaminated document whole (reason `contaminated`), as datatrove's
  `NGramsDecontFilter` does.
- `excise`: cut each match plus `window_chars` on both sides out of the document and keep
  the rest as pieces, as NeMo Curator's `TaskDecontamination` does (200 characters each side,
  pieces under 200 characters dropped, documents split more than 10 times dropped). The cut
  regions go to rejected/ as `excised` rows, short pieces as `short_piece`, and documents
  with more than `max_splits` regions as `too_many_splits`. A piece is a new row: id
  `<parent id>.<n>` (n counts the pieces, cut regions included, in text order) and a `piece`
  record naming the parent and the piece's [start, end) in the parent's text.

Rows rejected or excised keep the `contamination` record (benchmark, item id, span and
matched text), so rejected/ shows what was removed and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from dataflow.config import StrictModel
from dataflow.decontaminate.matches import (Hits, Located, describe, document_ngrams, excision_regions, find_matches,
                                            locate, pieces)
from dataflow.decontaminate.ngram_index import ItemCatalog, NgramIndex
from dataflow.schema import REJECT_REASON, REJECT_VALUE, annotated_schema

SPAN = pa.struct([("benchmark", pa.string()), ("item", pa.string()), ("start", pa.int32()),
                  ("end", pa.int32()), ("text", pa.string())])
CONTAMINATION = pa.struct([("ngrams", pa.int32()), ("benchmarks", pa.list_(pa.string())),
                           ("items", pa.list_(pa.string())), ("spans", pa.list_(SPAN))])
PIECE = pa.struct([("parent_id", pa.string()), ("index", pa.int32()), ("start", pa.int32()), ("end", pa.int32())])
ADDED_FIELDS = (pa.field("contamination", CONTAMINATION), pa.field("piece", PIECE))
#: Column naming the input row a piece came from (the stage's split accounting, jobs/common/stage_io.py).
PARENT_COLUMN = "piece.parent_id"
#: Document n-grams for the join path: one row per n-gram (hashes as Spark's signed longs).
NGRAM_SCHEMA = pa.schema([("id", pa.string()), ("hash", pa.int64()), ("start", pa.int32()), ("size", pa.int8())])
NGRAM_ROWS_PER_BATCH = 1 << 20
#: Index hits per document for the join path, gathered by the job: list of {item, benchmark, item_id, start, size}.
HITS_COLUMN = "_hits"


class DecontaminateConfig(StrictModel):
    """Settings of the `decontaminate` stage (documents -> documents free of benchmark text)."""

    benchmarks: list[str] = []
    """Benchmarks to look for: registry names, `all`, or NAME=PATH:FIELD,FIELD (`dataflow benchmarks list`)."""
    action: Literal["drop", "excise", "annotate"] = "drop"
    """drop: reject contaminated documents; excise: cut the matches out and keep the rest as pieces; annotate: only add
    `contamination`."""
    ngram: int = Field(13, ge=1)
    """Units per n-gram (words; characters in Chinese/Japanese): 13 as in GPT-3 (Brown et al. 2020, appendix C)."""
    min_ngram: int = Field(8, ge=1)
    """Shorter items and fields are one n-gram of their length down to this floor (NeMo Curator: 8); shorter items are
    skipped."""
    max_items_per_ngram: int = Field(10, ge=1)
    """N-grams found in more benchmark items than this are templates, not leaks, and are ignored."""
    common_phrases: list[str] = []
    """Text files of common phrases, one a line, whose n-grams are ignored."""
    window_chars: int = Field(200, ge=0)
    """excise: characters cut on each side of a match (NeMo Curator's remove_char_each_side)."""
    min_piece_chars: int = Field(200, ge=0)
    """excise: kept pieces shorter than this are rejected as `short_piece` (NeMo Curator's min_document_length)."""
    max_splits: int = Field(10, ge=0)
    """excise: a document with more cut regions than this is rejected whole as `too_many_splits` (NeMo Curator: 10)."""
    benchmarks_dir: str = "benchmarks"
    """Folder that the built-in registry's relative benchmark files are read from."""
    registries: list[str] = []
    """User registry YAML files (same shape as dataflow/decontaminate/benchmarks.yaml); their entries add to or replace
    built-in ones."""
    max_broadcast_bytes: int = Field(256 * 1024 * 1024, ge=0)
    """Indexes up to this size (12 bytes an entry plus a lookup directory) are collected and broadcast (one copy
    per Python worker); larger ones stay distributed and are joined with document n-grams."""
    max_report_documents: int = Field(100, ge=1)
    """Document ids listed per leaked item in the contamination report."""

    @model_validator(mode="after")
    def _floor_below_ngram(self):
        if self.min_ngram > self.ngram:
            raise ValueError(f"min_ngram ({self.min_ngram}) must not exceed ngram ({self.ngram})")
        return self


def output_schema(input_schema: pa.Schema) -> pa.Schema:
    """The stage's rows: the input columns, `contamination`, `piece`, then the reject columns."""
    added = {field.name for field in ADDED_FIELDS}
    return annotated_schema(pa.schema([*(f for f in input_schema if f.name not in added), *ADDED_FIELDS]))


def decontaminate_batches(batches: Iterable[pa.RecordBatch], index: NgramIndex, config: DecontaminateConfig,
                          schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """mapInArrow body with the index at hand (broadcast): match, then apply the action."""
    for batch in batches:
        hits = [find_matches(text, index) if text else None for text in batch.column("text").to_pylist()]
        yield apply_action(batch, hits, index.catalog, config, schema)


def document_ngram_batches(batches: Iterable[pa.RecordBatch], sizes: list[int]) -> Iterator[pa.RecordBatch]:
    """mapInArrow body of the join path: every n-gram of every document (NGRAM_SCHEMA), in
    batches of about NGRAM_ROWS_PER_BATCH rows so that a task's memory stays bounded."""
    parts: list[tuple] = []
    rows = 0
    for batch in batches:
        for doc_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
            grams, starts, lengths = document_ngrams(text or "", sizes)
            parts.append((np.full(len(grams), doc_id, dtype=object), grams.view(np.int64), starts, lengths))
            rows += len(grams)
            if rows >= NGRAM_ROWS_PER_BATCH:
                yield _ngram_batch(parts)
                parts, rows = [], 0
    if rows:
        yield _ngram_batch(parts)


def _ngram_batch(parts: list[tuple]) -> pa.RecordBatch:
    columns = [np.concatenate(column) for column in zip(*parts)]
    return pa.RecordBatch.from_arrays([pa.array(column, field.type) for column, field in zip(columns, NGRAM_SCHEMA)],
                                      schema=NGRAM_SCHEMA)


def joined_batches(batches: Iterable[pa.RecordBatch], benchmarks: list[str], sizes: list[int],
                   config: DecontaminateConfig, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """mapInArrow body of the join path: documents with their gathered `_hits` (item number,
    benchmark number, item id, start, size); apply the action. The catalog of the batch's hit
    items is built here, numbered in item order as the broadcast index numbers them."""
    for batch in batches:
        found = batch.column(HITS_COLUMN).to_pylist()
        named = {hit["item"]: (hit["benchmark"], hit["item_id"]) for hits in found if hits for hit in hits}
        order = sorted(named)
        number = {item: place for place, item in enumerate(order)}
        catalog = ItemCatalog(benchmarks, np.array([named[item][0] for item in order], dtype=np.int16),
                              [named[item][1] for item in order], sizes)
        hits = [None if doc_hits is None else Hits(np.array([number[hit["item"]] for hit in doc_hits], dtype=np.uint32),
                                                   np.array([hit["start"] for hit in doc_hits], dtype=np.int64),
                                                   np.array([hit["size"] for hit in doc_hits], dtype=np.int64))
                for doc_hits in found]
        yield apply_action(batch.drop_columns([HITS_COLUMN]), hits, catalog, config, schema)


def apply_action(batch: pa.RecordBatch, hits: list[Hits | None], catalog: ItemCatalog,
                 config: DecontaminateConfig, schema: pa.Schema) -> pa.RecordBatch:
    """The output rows of `batch` (`schema`): each document as is, annotated, rejected or cut in pieces."""
    if not any(found is not None and len(found) for found in hits):
        return _with_columns(batch, list(range(batch.num_rows)), {}, schema)
    ids, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
    rows: list[int] = []
    changes: dict[str, list] = {"id": [], "text": [], "contamination": [], "piece": [], REJECT_REASON: [],
                                REJECT_VALUE: []}
    for number, found in enumerate(hits):
        if found is None or not len(found):
            outputs = [(ids[number], texts[number], None, None, None, None)]
        else:
            outputs = _act(ids[number], texts[number], locate(texts[number], found), catalog, config)
        for output in outputs:
            rows.append(number)
            for column, value in zip(changes, output):
                changes[column].append(value)
    return _with_columns(batch, rows, changes, schema)


def _act(doc_id: str, text: str, located: Located, catalog: ItemCatalog, config: DecontaminateConfig) -> list[tuple]:
    """(id, text, contamination, piece, reason, value) rows for one contaminated document."""
    record = describe(text, located, catalog)
    if config.action == "annotate":
        return [(doc_id, text, record, None, None, None)]
    if config.action == "drop":
        return [(doc_id, text, record, None, "contaminated", _items_value(record))]
    regions = excision_regions(text, record["spans"], config.window_chars)
    if len(regions) > config.max_splits:
        return [(doc_id, text, record, None, "too_many_splits", str(len(regions)))]
    rows = []
    for number, (start, end, excised) in enumerate(pieces(text, regions)):
        piece = {"parent_id": doc_id, "index": number, "start": start, "end": end}
        piece_id = f"{doc_id}.{number}"
        if excised:
            inside = describe(text, located.within(start, end), catalog)
            rows.append((piece_id, text[start:end], inside, piece, "excised", _items_value(inside)))
        elif end - start < config.min_piece_chars:
            rows.append((piece_id, text[start:end], None, piece, "short_piece", str(end - start)))
        else:
            rows.append((piece_id, text[start:end], None, piece, None, None))
    return rows


def _items_value(record: dict) -> str:
    """reject_value of a contaminated row: its matched items (the first few)."""
    items = record["items"]
    shown = ",".join(items[:5])
    return shown + (f",... ({len(items)} items)" if len(items) > 5 else "")


def _with_columns(batch: pa.RecordBatch, rows: list[int], changes: dict[str, list],
                  schema: pa.Schema) -> pa.RecordBatch:
    """Rows `rows` of `batch` (repeats allowed), with the `changes` columns replacing or adding."""
    taken = batch if len(rows) == batch.num_rows and not changes else batch.take(pa.array(rows, pa.int64()))
    columns = []
    for field in schema:
        if field.name in changes:
            columns.append(pa.array(changes[field.name], field.type))
        elif field.name in taken.schema.names:
            columns.append(taken.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(len(rows), field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)
