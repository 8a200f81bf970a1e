"""Deduplication, engine-free: the stage's settings and the Arrow functions its Spark job runs.

The `dedup` stage removes, in order (each row is charged to the first that applies):

1. `exact_duplicate`: the same normalised text (`text.normalize`) as a better-ranked row;
2. `url_duplicate` (with `url_dedup`): among the rows left, the same normalised URL as a
   better-ranked row;
3. `near_duplicate`: among the rows left, in one cluster with a better-ranked row, where
   clusters are the connected components of "shares a MinHash-LSH band" (optionally
   verified by exact Jaccard >= `threshold`); each cluster also takes in the rows that
   steps 1 and 2 removed in favour of its members.

One row per cluster is kept, chosen by `keep` (ties by id). `signature_batches` and
`star_jaccard_batches` are the `mapInArrow` bodies of jobs/dedup.py; the graph work is Spark's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from pydantic import Field, model_validator

from dataflow.config import StrictModel
from dataflow.dedup.minhash import MinHasher, band_keys, jaccard, shingle_hashes
from dataflow.text import normalized_chunks

KeepRule = Literal["quality", "longest", "earliest"]
#: Columns the signature pass adds (text is dropped from its output).
FEATURE_FIELDS = (
    pa.field("text_key", pa.binary()),
    pa.field("url_key", pa.string()),
    pa.field("minhash", pa.binary()),
    pa.field("band_keys", pa.list_(pa.int64())),
)
JACCARD_SCHEMA = pa.schema([pa.field("src", pa.string()), pa.field("dst", pa.string()), pa.field("jaccard",
                                                                                                 pa.float64())])
#: Bytes of text converted to Python strings at once: bounds worker memory per Arrow batch.
_SLICE_BYTES = 8 << 20


class DedupConfig(StrictModel):
    """Settings of the `dedup` stage (exact, URL and MinHash-LSH near-duplicate removal)."""

    threshold: float = Field(0.8, gt=0, le=1)
    """Jaccard similarity of shingle sets at which two documents are near duplicates."""
    num_perm: int = Field(112, ge=2)
    """MinHash permutations. FineWeb: 112 (14 bands x 8 rows); RedPajama-v2: 128 (9 x 13 at 0.8)."""
    ngram: int = Field(5, ge=1)
    """Units per shingle: words, or characters of CJK/Thai text (FineWeb and Gopher use 5 words)."""
    seed: int = 1
    """Seed of the MinHash permutations (datasketch's default)."""
    scheme: Literal["affine32", "legacy"] = "affine32"
    """datasketch permutation scheme: affine32 (its 2.0 default, unbiased, uint32) or legacy (pre-2.0)."""
    bands: int | None = Field(None, ge=1)
    """LSH bands; with `rows`, overrides the optimal choice (FineWeb: 14)."""
    rows: int | None = Field(None, ge=1)
    """Signature values per LSH band; with `bands` (FineWeb: 8)."""
    false_positive_weight: float = Field(0.05, ge=0, le=1)
    """Weight of false positives in datasketch's optimal (bands, rows) search. With verification
    on, candidates are cheap to check, so recall matters more: 0.05/0.95 at 0.8 and 112 give
    FineWeb's 14 x 8; datasketch's default 0.5/0.5 gives 9 x 12."""
    false_negative_weight: float = Field(0.95, ge=0, le=1)
    """Weight of false negatives in the same search."""
    verify: bool = True
    """Drop LSH candidate pairs whose exact Jaccard is below `threshold` before clustering."""
    near: bool = True
    """Run the MinHash-LSH step; off, only exact (and URL) duplicates are removed."""
    url_dedup: bool = False
    """Also treat rows with the same normalised URL as duplicates (recrawls of one page)."""
    keep: list[KeepRule] = ["quality", "longest"]
    """Which row of a cluster to keep, by these rules in order, then by id: quality (highest
    `quality_column`), longest (most characters), earliest (oldest fetch_time)."""
    quality_column: str = "quality_score"
    """Column the `quality` keep rule reads (absent from the input: the rule is skipped, with a warning)."""
    write_signatures: bool = True
    """Store each row's MinHash in a `minhash` column (num_perm x 4 bytes), so that later crawls
    can be deduplicated against this one and datasketch's MinHashLSH can query it."""
    max_rounds: int = Field(40, ge=1)
    """Most large-star/small-star rounds for connected components (O(log^2 n); ~5 in practice)."""
    checkpoint_dir: str | None = None
    """Where Spark checkpoints truncate lineage; default: inside the stage's temporary output."""

    @model_validator(mode="after")
    def _bands_and_rows(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both dedup.bands and dedup.rows, or neither (to choose them from the threshold)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"dedup.bands x dedup.rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    @property
    def hasher(self) -> MinHasher:
        return MinHasher(num_perm=self.num_perm, seed=self.seed, ngram=self.ngram, scheme=self.scheme)

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows): as configured, or datasketch's optimum for threshold and num_perm."""
        if self.bands is not None:
            return self.bands, self.rows
        return optimal_lsh_params(self.threshold, self.num_perm, self.false_positive_weight, self.false_negative_weight)


@functools.lru_cache(maxsize=16)
def optimal_lsh_params(threshold: float, num_perm: int, false_positive_weight: float,
                       false_negative_weight: float) -> tuple[int, int]:
    """datasketch's `_optimal_param`, the routine `MinHashLSH(threshold, num_perm, weights)` uses:
    the (bands, rows) minimising the weighted integrals of the false-positive and
    false-negative probability under the S-curve 1 - (1 - s^rows)^bands."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)


def url_key(url: str | None) -> str | None:
    """A URL's identity for `url_dedup`, in the spirit of SURT keys: no scheme, host lower-cased
    without `www.`, default port, fragment and trailing slash dropped, path and query kept
    (`HTTP://www.Example.com:80/a/#top` -> `example.com/a`)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return url
    host = host.removeprefix("www.")
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")


def _text_slices(batch: pa.RecordBatch, *columns: str) -> Iterator[pa.RecordBatch]:
    """Consecutive slices of `batch` holding at most `_SLICE_BYTES` of `columns` (or one row)."""
    sizes = sum(pc.fill_null(pc.binary_length(batch.column(column)), 0).to_numpy(zero_copy_only=False)
                for column in columns)
    ends = np.cumsum(sizes)
    start = 0
    while start < batch.num_rows:
        base = ends[start - 1] if start else 0
        end = max(int(np.searchsorted(ends, base + _SLICE_BYTES, side="right")), start + 1)
        yield batch.slice(start, end - start)
        start = end


def signature_batches(batches: Iterable[pa.RecordBatch], config: DedupConfig, bands: int,
                      rows: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: rows with `text` (and `url`) in; the same rows out, `text` and `url`
    replaced by FEATURE_FIELDS: the exact-text key, the URL key, the MinHash signature and its
    band keys (null for texts with fewer than `ngram` units)."""
    hasher = config.hasher
    for batch in batches:
        for part in _text_slices(batch, "text"):
            texts = part.column("text").to_pylist()
            text_keys, signatures = [], np.empty((len(texts), config.num_perm), dtype=hasher.stored_dtype)
            has_shingles = np.empty(len(texts), dtype=bool)
            for span, normalized in normalized_chunks(texts):
                text_keys += [_text_key(normalized.text(i)) for i in range(span.stop - span.start)]
                signatures[span], has_shingles[span] = hasher.batch_signatures(normalized)
            urls = part.column("url").to_pylist() if config.url_dedup else [None] * len(texts)
            yield _feature_batch(part, text_keys, [url_key(url) for url in urls], signatures, has_shingles, bands, rows)


def _text_key(normalized: str) -> bytes | None:
    """xxh3-128 of the normalised text; None for a text without words, which duplicates
    nothing (removing empty pages is the filters' job, not an arbitrary pick of one)."""
    return xxhash.xxh3_128_digest(normalized.encode()) if normalized else None


def _feature_batch(part: pa.RecordBatch, text_keys: list[bytes | None], url_keys: list[str | None], stored: np.ndarray,
                   has_shingles: np.ndarray, bands: int, rows: int) -> pa.RecordBatch:
    """`part` without text and url, plus FEATURE_FIELDS; `stored` holds signatures in `stored_dtype`."""
    count, width = len(stored), stored.shape[1] * stored.itemsize
    present = pa.array(has_shingles).buffers()[1]  # bit-packed: a validity bitmap
    offsets = pa.py_buffer(np.arange(count + 1, dtype=np.int32) * width)
    minhash = pa.BinaryArray.from_buffers(pa.binary(), count, [present, offsets, pa.py_buffer(stored.tobytes())])
    keys = band_keys(stored, bands, rows)
    key_lists = pa.ListArray.from_arrays(pa.array(np.arange(count + 1, dtype=np.int32) * bands),
                                         pa.array(keys.ravel()), mask=pa.array(~has_shingles))
    columns = {name: part.column(name) for name in part.schema.names if name not in ("text", "url")}
    columns.update(text_key=pa.array(text_keys, pa.binary()), url_key=pa.array(url_keys, pa.string()),
                   minhash=minhash, band_keys=key_lists)
    return pa.RecordBatch.from_pydict(columns)


def star_jaccard_batches(batches: Iterable[pa.RecordBatch], ngram: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body of verification: rows (centre, id, text) in, grouped by centre with the
    centre's own row (id == centre) first; (src, dst, jaccard) out for every other row, the
    exact Jaccard similarity of its shingle set and its centre's (64-bit shingle hashes).

    Each star's centre text arrives once and is shingled once, however many members the star
    has: joining texts onto edges instead copied (and re-shingled) a bucket's centre once per
    edge, which for a family of thousands of near-copies of a long page is most of the work.
    """
    centre, centre_set = None, None
    for batch in batches:
        for part in _text_slices(batch, "text"):
            shingle_sets = []
            for _, normalized in normalized_chunks(part.column("text").to_pylist()):
                hashes, offsets = shingle_hashes(normalized, ngram)
                shingle_sets += [hashes[offsets[i]:offsets[i + 1]] for i in range(offsets.size - 1)]
            src, dst, scores = [], [], []
            for row_centre, row_id, shingle_set in zip(part.column("centre").to_pylist(), part.column("id").to_pylist(),
                                                       shingle_sets):
                if row_id == row_centre:
                    centre, centre_set = row_centre, shingle_set
                    continue
                assert row_centre == centre, f"star {row_centre}: member {row_id} arrived before its centre"
                src.append(row_id)
                dst.append(row_centre)
                scores.append(jaccard(shingle_set, centre_set))
            yield pa.RecordBatch.from_arrays([pa.array(src, pa.string()), pa.array(dst, pa.string()),
                                              pa.array(scores, pa.float64())], schema=JACCARD_SCHEMA)


def size_bucket(size: int) -> str:
    """The cluster-size histogram bucket of `size` >= 2: 2, 3-4, 5-8, 9-16, ..."""
    high = 1 << (size - 1).bit_length()
    low = high // 2 + 1
    return str(high) if low == high else f"{low}-{high}"
