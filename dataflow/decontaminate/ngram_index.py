"""The benchmark n-gram index: a sorted array of 64-bit n-gram hashes with the item of each.

N-grams are taken over `dataflow.text.normalized_units` (the normalisation dedup uses), so
case, width, punctuation, digits and line breaks do not hide a copy, and Chinese/Japanese
text gives character n-grams. The default n = 13 follows GPT-3 (Brown et al. 2020, appendix
C). Items shorter than n use one n-gram of their own length, down to a floor of 8 (NeMo
Curator's `DownstreamTask._update_ngrams`, min 8 / max 13); shorter items are skipped and
counted, since a handful of words ("Predators eat") matches unrelated text.

Each field of an item is indexed alone (a short field still counts as one n-gram) and all
fields joined, which adds the n-grams across field boundaries (a question followed by its
answer, as datatrove's `find_overlap_ngrams` does). N-grams found in more than
`max_items_per_ngram` items, or in a common-phrases file, are dropped: they are templates
("which of the following is"), not evidence of a leak.

Hashing is vectorised: each unit is hashed once (xxh3-64), and an n-gram's hash is the
polynomial sum(h[t] * P^(end-t)) mod 2^64 over its units, read off prefix sums of
h[t] * P^-t (P is odd, hence invertible mod 2^64), so the n-grams of every size, and of all
benchmark items at once, cost a few array operations; the size is then mixed in (murmur3's
fmix64) so that sizes never collide. The index is 12 bytes per (n-gram, item) entry, plus a
bucket directory on the top hash bits that makes a lookup two array reads (see NgramIndex);
no Python dict per n-gram anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import xxhash

from dataflow.decontaminate.benchmarks import BenchmarkItem
from dataflow.text import normalized_units

_P = 0x100000001B3  # the 64-bit FNV prime
_P_INVERSE = 0xCE965057AFF6957B  # _P * _P_INVERSE = 1 mod 2^64
_SIZE_SALT = np.uint64(0x9E3779B97F4A7C15)
_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT = np.uint64(33)


def unit_hashes(units: list[str]) -> np.ndarray:
    """xxh3-64 of each unit's UTF-8 bytes (uint64)."""
    return np.fromiter(map(xxhash.xxh3_64_intdigest, map(str.encode, units)), dtype=np.uint64, count=len(units))


class UnitSequence:
    """Unit hashes with the prefix sums that give any n-gram's hash in O(1), vectorised."""

    def __init__(self, hashes: np.ndarray):
        self.length = len(hashes)
        self._powers = _powers(_P, self.length)
        self._prefix = np.zeros(self.length + 1, dtype=np.uint64)
        np.cumsum(hashes * _powers(_P_INVERSE, self.length), out=self._prefix[1:])

    def hashes(self, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Hash of the n-gram of `sizes[j]` units from unit `starts[j]`, for every j."""
        ends = starts + sizes
        polynomial = (self._prefix[ends] - self._prefix[starts]) * self._powers[ends - 1]
        return _mix(polynomial ^ (sizes.astype(np.uint64) * _SIZE_SALT))

    def ngrams(self, sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hash, first unit and size of every n-gram of each of `sizes`.

        >>> grams, starts, sizes = UnitSequence(unit_hashes("a b c a b".split())).ngrams([2])
        >>> starts.tolist(), bool(grams[0] == grams[3]), bool(grams[0] == grams[1])
        ([0, 1, 2, 3], True, False)
        """
        starts = [np.arange(self.length - size + 1, dtype=np.int64) for size in sizes if size <= self.length]
        if not starts:
            return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64)
        size_of = np.concatenate([np.full(len(first), size) for first, size in zip(starts, sizes)])
        starts = np.concatenate(starts)
        return self.hashes(starts, size_of), starts, size_of


def _powers(base: int, count: int) -> np.ndarray:
    """base^0 .. base^(count-1) mod 2^64."""
    powers = np.full(max(count, 1), base, dtype=np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)[:count]


def _mix(value: np.ndarray) -> np.ndarray:
    value = (value ^ (value >> _SHIFT)) * _FMIX_1
    value = (value ^ (value >> _SHIFT)) * _FMIX_2
    return value ^ (value >> _SHIFT)


@dataclass
class ItemCatalog:
    """What a match needs besides the hashes: benchmark and id of each item, n-gram sizes."""

    benchmarks: list[str]
    benchmark_of: np.ndarray  # (items,) int16 index into benchmarks
    item_ids: list[str]
    sizes: list[int]  # n-gram sizes present in the index, ascending

    def key(self, item: int) -> str:
        """`benchmark:item_id`, the item's name in reports."""
        return f"{self.benchmarks[self.benchmark_of[item]]}:{self.item_ids[item]}"


class NgramIndex:
    """Sorted n-gram hashes (uint64) and the item (uint32) of each; a hash repeats once per item.

    A directory of bucket offsets on the top bits of the hash (one or two entries a bucket)
    turns a lookup into two array reads and a compare, instead of `np.searchsorted`'s ~21-step
    binary search whose random reads miss the cache: for 5,600 queries (a 5,000-character
    page, six n-gram sizes) into 2.3M entries, 0.6 ms against 7 ms (3.8 ms with the queries
    sorted first). It costs 2-4 bytes per entry and is rebuilt where the index is unpickled
    (a broadcast ships only the arrays).
    """

    def __init__(self, hashes: np.ndarray, items: np.ndarray, catalog: ItemCatalog, stats: dict | None = None):
        self.hashes, self.items, self.catalog, self.stats = hashes, items, catalog, stats or {}
        bits, dtype = self._directory(len(hashes))
        self._shift = np.uint64(64 - bits)
        self._offsets = np.zeros((1 << bits) + 1, dtype=dtype)
        np.cumsum(np.bincount((hashes >> self._shift).astype(np.int64), minlength=1 << bits), out=self._offsets[1:])

    @staticmethod
    def _directory(entries: int) -> tuple[int, type]:
        """Top hash bits of the bucket directory (about two entries a bucket) and its offset type."""
        return max(1, int(np.ceil(np.log2(max(entries, 2)))) - 1), np.int64 if entries >= 2**31 else np.int32

    @classmethod
    def size_of(cls, entries: int) -> int:
        """`nbytes` of an index of `entries` entries, known before it is built."""
        bits, dtype = cls._directory(entries)
        return entries * (8 + 4) + ((1 << bits) + 1) * np.dtype(dtype).itemsize

    def __reduce__(self):
        return NgramIndex, (self.hashes, self.items, self.catalog, self.stats)

    @property
    def nbytes(self) -> int:
        return self.size_of(len(self.hashes))

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query position, item) for every query hash found, once per item holding it."""
        bucket = (queries >> self._shift).astype(np.int64)
        first = self._offsets[bucket]
        counts = self._offsets[bucket + 1] - first
        candidates = _ranges(first, counts)
        owners = np.repeat(np.arange(len(queries)), counts)
        found = self.hashes[candidates] == queries[owners]
        return owners[found], self.items[candidates[found]]


def build_index(benchmarks: dict[str, Iterable[BenchmarkItem]], *, ngram: int = 13, min_ngram: int = 8,
                max_items_per_ngram: int = 10, common_phrases: Iterable[str] = ()) -> NgramIndex:
    """Index every item of `benchmarks` (name -> items); `stats` counts items, skips and drops.

    The decontaminate job builds the same index from Spark executors instead
    (jobs/common/benchmark_index.py): `item_entries` per file there, the steps after it as
    DataFrame operations.
    """
    started = time.time()
    texts = ItemTexts(min_ngram)
    for number, benchmark_items in enumerate(benchmarks.values()):
        for item in benchmark_items:
            texts.add(number, item)
    entries = item_entries(texts, ngram)
    hashes, items, too_common = _drop_common(entries.hashes, entries.items, max_items_per_ngram)
    catalog = ItemCatalog(list(benchmarks), np.array(texts.benchmark_of, dtype=np.int16), texts.item_ids,
                          np.unique(entries.sizes).tolist())
    in_phrases = np.isin(hashes, phrase_hashes(common_phrases, catalog.sizes))
    index = NgramIndex(hashes[~in_phrases], items[~in_phrases], catalog)
    index.stats = {
        "benchmarks": {name: {"items": texts.items_seen.get(number, 0), "items_skipped": texts.items_skipped.get(number,
                                                                                                                 0)}
                       for number, name in enumerate(benchmarks)},
        "ngram_sizes": catalog.sizes,
        "ngrams_mostly_numbers": int(entries.mostly_numbers.sum()),
        "ngrams_too_common": too_common,
        "ngrams_in_common_phrases": len(_run_lengths(hashes[in_phrases])),
        "entries": int(len(index.hashes)),
        "distinct_ngrams": len(_run_lengths(index.hashes)),
        "bytes": index.nbytes,
        "build_seconds": round(time.time() - started, 3),
    }
    return index


@dataclass
class ItemEntries:
    """The index entries of some items before the steps that look across items."""

    hashes: np.ndarray  # (entries,) uint64, sorted; a hash repeats once per item holding it
    items: np.ndarray  # (entries,) uint32 item number (ItemTexts order)
    sizes: np.ndarray  # (entries,) n-gram size of each entry
    mostly_numbers: np.ndarray  # (items,) n-gram positions of each item dropped for being mostly numbers


def item_entries(texts: ItemTexts, ngram: int) -> ItemEntries:
    """Every n-gram of `texts`' items that is not mostly numbers, once per item holding it.

    Item-local, so the items can be split in any way (a Spark task per file) and the entries
    concatenated: dropping n-grams held by too many items, or in common phrases, comes after.
    """
    sequence = UnitSequence(np.concatenate([np.empty(0, np.uint64), *texts.unit_hashes]))
    starts, sizes, items_before = texts.ngrams(ngram)
    numeric = texts.numbers_in(starts, sizes) * 2 > sizes
    starts, sizes, items = starts[~numeric], sizes[~numeric], items_before[~numeric]
    hashes, (items, sizes) = _sorted_distinct(sequence.hashes(starts, sizes), items, sizes)
    mostly_numbers = np.bincount(items_before[numeric], minlength=len(texts.item_ids))
    return ItemEntries(hashes, items, sizes, mostly_numbers)


def phrase_hashes(phrases: Iterable[str], sizes: list[int]) -> np.ndarray:
    """The n-gram hashes (of each of `sizes`) of common phrases, whose n-grams the index ignores."""
    hashes = [UnitSequence(unit_hashes(normalized_units(phrase))).ngrams(sizes)[0] for phrase in phrases]
    return np.concatenate([np.empty(0, np.uint64), *hashes])


class ItemTexts:
    """The unit hashes of all items laid end to end, with where each item and each field starts."""

    def __init__(self, min_ngram: int):
        self.min_ngram = min_ngram
        self.unit_hashes: list[np.ndarray] = []
        self._numbers: list[np.ndarray] = []  # per unit: is it a number (all digits, folded to 0)?
        self._length = 0
        self.benchmark_of: list[int] = []
        self.item_ids: list[str] = []
        self.items_seen: dict[int, int] = {}
        self.items_skipped: dict[int, int] = {}
        self._items: list[tuple[int, int]] = []  # (first unit, units) per indexed item
        self._fields: list[tuple[int, int, int]] = []  # (first unit, units, item) per field

    def add(self, benchmark: int, item: BenchmarkItem) -> int | None:
        """Add `item` of benchmark number `benchmark`; its item number, or None when it is too short."""
        fields = [normalized_units(text) for text in item.texts]
        length = sum(map(len, fields))
        self.items_seen[benchmark] = self.items_seen.get(benchmark, 0) + 1
        if length < self.min_ngram:
            self.items_skipped[benchmark] = self.items_skipped.get(benchmark, 0) + 1
            return None
        number = len(self.item_ids)
        self.benchmark_of.append(benchmark)
        self.item_ids.append(item.id)
        self._items.append((self._length, length))
        for units in fields:
            self._fields.append((self._length, len(units), number))
            self._length += len(units)
        joined = [unit for units in fields for unit in units]
        self.unit_hashes.append(unit_hashes(joined))
        self._numbers.append(np.fromiter((not unit.strip("0") for unit in joined), dtype=bool, count=len(joined)))
        return number

    def numbers_in(self, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """How many units of each n-gram are numbers."""
        prefix = np.zeros(self._length + 1, dtype=np.int64)
        np.cumsum(np.concatenate([np.empty(0, bool), *self._numbers]), out=prefix[1:])
        return prefix[starts + sizes] - prefix[starts]

    def ngrams(self, ngram: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first unit, size, item) of every n-gram to index: each item's `ngram`-grams over its
        fields joined; whole items and whole fields shorter than `ngram` but not than the floor."""
        items = np.array(self._items, dtype=np.int64).reshape(-1, 2)
        fields = np.array(self._fields, dtype=np.int64).reshape(-1, 3)
        number = np.arange(len(items))
        long = items[:, 1] >= ngram
        windows = items[long, 1] - ngram + 1
        short_fields = (fields[:, 1] >= self.min_ngram) & (fields[:, 1] < ngram)
        starts = np.concatenate([_ranges(items[long, 0], windows), items[~long, 0], fields[short_fields, 0]])
        sizes = np.concatenate([np.full(windows.sum(), ngram), items[~long, 1], fields[short_fields, 1]])
        owners = np.concatenate([np.repeat(number[long], windows), number[~long], fields[short_fields, 2]])
        return starts, sizes, owners.astype(np.uint32)


def _ranges(firsts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """firsts[0] .. firsts[0]+counts[0]-1, then firsts[1] .., concatenated.

    >>> _ranges(np.array([10, 20]), np.array([2, 3])).tolist()
    [10, 11, 20, 21, 22]
    """
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(firsts, counts) + offsets


def _sorted_distinct(hashes: np.ndarray, items: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(hash, item) pairs sorted by hash, each once (with the size of each): an item holding an
    n-gram twice counts once. A hash has one size (the size is mixed into it)."""
    order = np.lexsort((items, hashes))
    hashes, items, sizes = hashes[order], items[order], sizes[order]
    distinct = np.ones(len(hashes), dtype=bool)
    distinct[1:] = (hashes[1:] != hashes[:-1]) | (items[1:] != items[:-1])
    return hashes[distinct], (items[distinct], sizes[distinct])


def _run_lengths(values: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal values in sorted `values` (np.unique's counts, without a hash table)."""
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]])) if len(values) else np.empty(0,
                                                                                                              np.int64)
    return np.diff(np.append(starts, len(values)))


def _drop_common(hashes: np.ndarray, items: np.ndarray, max_items: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Remove sorted `hashes` held by more than `max_items` items (each item holds a hash once)."""
    counts = _run_lengths(hashes)
    common = counts > max_items
    keep = np.repeat(~common, counts)
    return hashes[keep], items[keep], int(common.sum())
