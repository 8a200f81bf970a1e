"""From positions of the mixed stream back to the documents they hold.

Nothing is stored per step or per sequence: position n of `MixedStream` is a window of one
source (the schedule and that epoch's permutation, `MixedStream.places`); window w is tokens
s..s + seq_len of one shard (`TokenDataset.window_places`), whose targets s + 1..s + seq_len
fall in the documents the shard's index delimits; the source's documents/ table (written by
`dataflow run tokenize`) names each document: id, URL. So the documents of any trainer step
or any sequence of a `mix` output are recomputed from the mixture alone, and the spike guard
(trainer/train.py), `dataflow inspect run` and `dataflow inspect MIXED --sequence` all call
`stream_documents`.

Given the loss of every target position, each document gets its mean loss and its excess
loss, the sum over its targets of (loss - the batch's mean loss): how much it raised the
batch loss. Ranking by the excess names a long run of junk first, and not a document whose
single target in the batch (its first token, unpredictable after EOS) happens to be costly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as ds

from dataflow.mix.mixture import MixedStream, Mixture
from dataflow.object_store import is_store, join, url_fs
from dataflow.tokenize.encode import DOCUMENTS_DIR


@dataclass(frozen=True)
class Span:
    """The targets of one window that belong to one document."""

    row: int
    """Which window: its position minus the first position asked for."""
    source: str
    shard: int
    """The shard's place in the source's manifest."""
    document: int
    """Index of the document in the shard."""
    columns: tuple[int, int]
    """The window's target columns [a, b): where the per-position loss of these targets is."""
    tokens: tuple[int, int]
    """The same targets as token offsets [a, b) inside the document."""


def window_spans(stream: MixedStream, start: int, stop: int) -> list[Span]:
    """Every (window, document) piece of positions start..stop-1, in position then token order.

    Window w reads tokens s..s+L of its shard and predicts s+1..s+L (`TokenDataset.read_windows`);
    a document ending at e (exclusive, the shard's .idx) owns the targets before e.
    """
    sources, shards, starts = stream.places(start, stop)
    spans = []
    for row, (index, shard, first) in enumerate(zip(sources.tolist(), shards.tolist(), starts.tolist())):
        name = stream.names[index]
        ends = stream.datasets[name].doc_ends[shard]
        low, high = first + 1, first + stream.seq_len + 1  # targets [low, high)
        for document in range(int(np.searchsorted(ends, low, side="right")),
                              int(np.searchsorted(ends, high - 1, side="right")) + 1):
            doc_start, doc_end = (int(ends[document - 1]) if document else 0), int(ends[document])
            a, b = max(doc_start, low), min(doc_end, high)
            spans.append(Span(row, name, shard, document, (a - low, b - low), (a - doc_start, b - doc_start)))
    return spans


def stream_documents(stream: MixedStream, roots: dict[str, str | Path], start: int, stop: int,
                     losses: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The documents of positions start..stop-1, with ids and URLs from each source's documents/ table.

    `roots` are the source folders by name (the mixture's paths); `losses`, when given, is the
    loss of every target, shape (stop - start, seq_len), and ranks the documents by excess loss
    (worst first); without it they come in stream order. JSON-ready dicts: they go into events.jsonl.
    """
    spans = window_spans(stream, start, stop)
    mean = float(losses.mean()) if losses is not None else 0.0
    documents: dict[tuple[str, int, int], dict[str, Any]] = {}
    for span in spans:
        stem = _shard_number(stream, span.source, span.shard)
        entry = documents.setdefault((span.source, stem, span.document), {
            "source": span.source, "shard": stem, "document": span.document, "id": None, "url": None,
            "positions": [], "token_ranges": [], "targets": 0})
        entry["positions"].append(start + span.row)
        entry["token_ranges"].append(list(span.tokens))
        entry["targets"] += span.tokens[1] - span.tokens[0]
        if losses is not None:
            values = losses[span.row, span.columns[0]:span.columns[1]]
            entry["loss_sum"] = entry.get("loss_sum", 0.0) + float(values.sum())
    for entry in documents.values():
        if losses is not None:
            total = entry.pop("loss_sum")
            entry["mean_loss"], entry["excess_loss"] = total / entry["targets"], total - mean * entry["targets"]
    _name_documents(roots, documents)
    ranked = list(documents.values())
    if losses is not None:
        ranked.sort(key=lambda entry: -entry["excess_loss"])
    return ranked


def source_roots(mixture: Mixture) -> dict[str, str]:
    """The source folders of a mixture by name: where each source's documents/ table is."""
    return {name: spec.path for name, spec in mixture.sources.items()}


def document_rows(root: str | Path, split: str, keys: set[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """Rows of a source's documents/ table for (shard, document) keys; {} when it has no table.

    One scan with the shard and document numbers pushed down as filters.
    """
    fs, folder = url_fs(str(join(root, DOCUMENTS_DIR))) if is_store(root) else (None, Path(root) / DOCUMENTS_DIR)
    if not keys or not (fs.isdir(folder) if fs else folder.is_dir()):
        return {}
    dataset = ds.dataset(folder, filesystem=fs, format="parquet", ignore_prefixes=[".", "_"])
    shards, numbers = sorted({shard for shard, _ in keys}), sorted({document for _, document in keys})
    table = dataset.to_table(filter=(ds.field("split") == split) & ds.field("shard").isin(shards)
                             & ds.field("document").isin(numbers))
    rows = {(row["shard"], row["document"]): row for row in table.to_pylist()}
    return {key: rows[key] for key in keys if key in rows}


def _name_documents(roots: dict[str, str | Path], documents: dict[tuple[str, int, int], dict[str, Any]]) -> None:
    for name, root in roots.items():
        keys = {(shard, document) for source, shard, document in documents if source == name}
        for (shard, document), row in document_rows(root, "train", keys).items():
            documents[(name, shard, document)].update(id=row["id"], url=row.get("url"))


def _shard_number(stream: MixedStream, source: str, position: int) -> int:
    """The shard's number (`00007.bin` -> 7), which documents/ uses, from its place in the manifest."""
    return int(stream.datasets[source].manifest.shards[position].file.split(".")[0])
