"""Benchmark matches in one document: finding them, describing them, and where to cut.

`find_matches` looks up every n-gram of a document (of each size the index holds) and
returns the hits as (item, first unit, size) arrays; a Spark job may compute the same hits by
joining document n-grams with the index instead (`document_ngrams`). `locate` maps hits to
character spans in the original text (`dataflow.text.normalized_unit_spans`), and `describe`
turns them into the `contamination` record: the matched n-gram count, the benchmarks and
items, and per item the merged spans with the text they cover. `excision_regions` widens the spans by a window and
merges them: the parts of the document that `excise` removes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.decontaminate.ngram_index import ItemCatalog, NgramIndex, UnitSequence, unit_hashes
from dataflow.text import normalized_unit_spans, normalized_units

#: Cuts move outward to the nearest whitespace within this many characters, so that kept
#: pieces of spaced scripts do not start or end mid-word.
SNAP_CHARS = 30


@dataclass(frozen=True)
class Hits:
    """Index hits in one document: item, first unit and size (in units) of each matched n-gram."""

    items: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Located:
    """Hits with the [start, end) character span of each matched n-gram in the original text."""

    hits: Hits
    starts: np.ndarray
    ends: np.ndarray

    def within(self, start: int, end: int) -> Located:
        """The hits whose span lies inside [start, end)."""
        inside = (self.starts >= start) & (self.ends <= end)
        hits = Hits(self.hits.items[inside], self.hits.starts[inside], self.hits.sizes[inside])
        return Located(hits, self.starts[inside], self.ends[inside])


def document_ngrams(text: str, sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hash, first unit and size of every n-gram of `text` of each of `sizes`."""
    return UnitSequence(unit_hashes(normalized_units(text))).ngrams(sizes)


def find_matches(text: str, index: NgramIndex) -> Hits:
    """The n-grams of `text` found in `index`, once per item holding them."""
    grams, starts, sizes = document_ngrams(text, index.catalog.sizes)
    where, items = index.lookup(grams)
    return Hits(items, starts[where], sizes[where])


def locate(text: str, hits: Hits) -> Located:
    """The character span of each hit (units mapped back by `normalized_unit_spans`)."""
    _, unit_starts, unit_ends = normalized_unit_spans(text)
    return Located(hits, unit_starts[hits.starts], unit_ends[hits.starts + hits.sizes - 1])


def describe(text: str, located: Located, catalog: ItemCatalog) -> dict:
    """The `contamination` record of a document (or part of one) with `located` hits.

    `ngrams` counts matched n-gram positions (an n-gram held by two items counts once);
    `spans` holds, per item, its overlapping matches merged, in document order.
    """
    hits, spans = located.hits, []
    for item in np.unique(hits.items):
        mine = hits.items == item
        benchmark, item_id = catalog.benchmarks[catalog.benchmark_of[item]], catalog.item_ids[item]
        for start, end in merge_intervals(located.starts[mine], located.ends[mine]):
            spans.append({"benchmark": benchmark, "item": item_id, "start": start, "end": end, "text": text[start:end]})
    spans.sort(key=lambda span: (span["start"], span["benchmark"], span["item"]))
    return {
        "ngrams": len(set(zip(hits.starts.tolist(), hits.sizes.tolist()))),
        "benchmarks": sorted({span["benchmark"] for span in spans}),
        "items": sorted({f"{span['benchmark']}:{span['item']}" for span in spans}),
        "spans": spans,
    }


def merge_intervals(starts, ends) -> list[tuple[int, int]]:
    """Overlapping or touching [start, end) intervals merged, in order.

    >>> merge_intervals([5, 0, 12], [10, 6, 20])
    [(0, 10), (12, 20)]
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted(zip(map(int, starts), map(int, ends))):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def excision_regions(text: str, spans: list[dict], window_chars: int) -> list[tuple[int, int]]:
    """The parts of `text` to cut: each span widened by `window_chars` on both sides (to a word
    boundary when one is near), overlapping regions merged."""
    regions = [(_snap_left(text, max(0, span["start"] - window_chars)),
                _snap_right(text, min(len(text), span["end"] + window_chars))) for span in spans]
    return merge_intervals([start for start, _ in regions], [end for _, end in regions])


def _snap_left(text: str, cut: int) -> int:
    for position in range(cut, max(0, cut - SNAP_CHARS) - 1, -1):
        if position == 0 or text[position - 1].isspace():
            return position
    return cut


def _snap_right(text: str, cut: int) -> int:
    for position in range(cut, min(len(text), cut + SNAP_CHARS) + 1):
        if position == len(text) or text[position].isspace():
            return position
    return cut


def pieces(text: str, regions: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """`text` cut at `regions`: (start, end, excised) in order; kept parts are stripped of
    surrounding whitespace and dropped when nothing else is left.

    >>> pieces("keep this. CUT keep that", [(11, 14)])
    [(0, 10, False), (11, 14, True), (15, 24, False)]
    """
    out: list[tuple[int, int, bool]] = []
    position = 0
    for start, end in [*regions, (len(text), len(text))]:
        kept = text[position:start]
        if kept.strip():
            first = position + len(kept) - len(kept.lstrip())
            out.append((first, position + len(kept.rstrip()), False))
        if end > start:
            out.append((start, end, True))
        position = end
    return out
