"""MinHash signatures and LSH band keys, vectorised with numpy and bit-identical to datasketch.

Shingles are word n-grams (default 5, as FineWeb and Gopher) over `text.normalized_units`:
Unicode NFKC, case folded, digits folded to 0, punctuation dropped, whitespace collapsed.
Chinese, Japanese, Thai and other unspaced scripts give one unit per character, so over them
a word 5-gram is a 5-character shingle. We chose character n-grams over a segmenter
(FineWeb-2 uses jieba for Chinese) because they need no dictionary or model per language,
are deterministic and fast, and behave the same for Japanese and Thai; NeMo Curator
shingles every language by characters (24 of them). Five CJK characters carry about as much
as two or three English words, so CJK documents share a few more shingles by chance.

The hash function of a shingle is built from its units (`shingle_hash`):

    unit_hash(u)    = fmix64(sum of code point_k * P1^(len-1-k), mod 2^64)   (polynomial)
    shingle_hash(s) = fmix64(fold h <- h * P2 + unit_hash(u) over the units of s) mod 2^32

`fmix64` is MurmurHash3's finaliser (Appleby, smhasher). Defined this way, each unit is
hashed once per document, and every shingle hash is a few array operations over all units
of an Arrow batch, instead of building each shingle string in Python (~1 ms per page). The
same function in plain Python is what we hand to `datasketch.MinHash(hashfunc=...)`, so a
signature here equals datasketch's for the same `num_perm`, `seed` and scheme
(tests/dataflow/test_minhash.py asserts it on real pages), and datasketch's `MinHashLSH`
can index and query the signatures the dedup stage stores.

Permutation schemes, both exactly as datasketch 2.0 computes them (`datasketch/minhash.py`):

- `affine32` (our default, datasketch's since 2.0): the 32-bit shingle hash is pre-mixed
  with MurmurHash3's 32-bit finaliser, then `a*h + b mod 2^32` with odd `a`: a bijection,
  so permuting adds no collisions (the legacy fold from 61 to 32 bits inflates Jaccard
  estimates on large sets, datasketch issue #212), values are uint32 (half the memory and
  shuffle bytes) and no modulo is needed (faster).
- `legacy`: `(a*h + b) mod (2^61 - 1)` truncated to 32 bits and stored as uint64, with
  `a*h` wrapping in uint64 first as datasketch computes it; only to match signatures made
  by datasketch before 2.0.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dataflow.text import NormalizedBatch, normalized_chunks, normalized_units

Scheme = Literal["affine32", "legacy"]

_MASK32 = (1 << 32) - 1
_MASK64 = (1 << 64) - 1
#: xxHash's 64-bit primes PRIME64_1 and PRIME64_2: odd, so multiplication is invertible mod 2^64.
_UNIT_PRIME = 0x9E3779B185EBCA87
_FOLD_PRIME = 0xC2B2AE3D27D4EB4F
_MERSENNE_61 = np.uint64((1 << 61) - 1)
#: Shingles per block of the (num_perm x shingles) permutation buffer: 3.7 MB at 112 x uint32.
_BLOCK_SHINGLES = 8192


# --- the reference hash function, in plain Python (what datasketch is given) ----------------


def _fmix64_int(value: int) -> int:
    """MurmurHash3's 64-bit finaliser on a Python int (smhasher, `fmix64`)."""
    shift1, multiplier1, shift2, multiplier2, shift3 = _FMIX[64]
    value ^= value >> shift1
    value = (value * multiplier1) & _MASK64
    value ^= value >> shift2
    value = (value * multiplier2) & _MASK64
    return value ^ (value >> shift3)


@functools.lru_cache(maxsize=1 << 18)
def unit_hash(unit: str) -> int:
    """64-bit hash of one unit (word, or CJK character): a polynomial over its code points."""
    value = 0
    for char in unit:
        value = (value * _UNIT_PRIME + ord(char)) & _MASK64
    return _fmix64_int(value)


def shingle_hash64(shingle: Sequence[str]) -> int:
    """64-bit hash of a shingle (a tuple of units); exact-Jaccard verification compares these."""
    value = 0
    for unit in shingle:
        value = (value * _FOLD_PRIME + unit_hash(unit)) & _MASK64
    return _fmix64_int(value)


def shingle_hash(shingle: Sequence[str]) -> int:
    """The 32-bit hash function given to `datasketch.MinHash(hashfunc=shingle_hash)`."""
    return shingle_hash64(shingle) & _MASK32


def shingles(text: str, ngram: int) -> list[tuple[str, ...]]:
    """The word n-grams of `text`, in order (a text with fewer than `ngram` units has none)."""
    units = normalized_units(text)
    return [tuple(units[i:i + ngram]) for i in range(len(units) - ngram + 1)]


# --- the same, vectorised ---------------------------------------------------------------------


#: MurmurHash3 finaliser constants per width: (shift, multiplier, shift, multiplier, shift).
_FMIX = {64: (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33), 32: (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)}


def fmix(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser over a uint64 or uint32 array (multiplication wraps), the 32-bit
    one being datasketch's affine pre-mix."""
    kind = values.dtype.type
    shift1, multiplier1, shift2, multiplier2, shift3 = map(kind, _FMIX[values.dtype.itemsize * 8])
    values = values ^ (values >> shift1)
    values *= multiplier1
    values ^= values >> shift2
    values *= multiplier2
    return values ^ (values >> shift3)


@functools.lru_cache(maxsize=8)
def _unit_prime_powers(length: int) -> np.ndarray:
    powers = np.full(length, _UNIT_PRIME, dtype=np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)  # wraps mod 2^64, as the Python fold does


def unit_hashes(batch: NormalizedBatch) -> np.ndarray:
    """`unit_hash` of every unit of the batch (uint64), in order."""
    if batch.unit_starts.size == 0:
        return np.zeros(0, dtype=np.uint64)
    # Units tile the non-space characters; a character's exponent is the number after it in its unit.
    positions = np.flatnonzero(batch.codepoints != ord(" "))
    lengths = batch.unit_ends - batch.unit_starts
    ends = np.repeat(batch.unit_ends, lengths)
    powers = _unit_prime_powers(1 << int(lengths.max()).bit_length())
    terms = batch.codepoints[positions].astype(np.uint64) * powers[ends - 1 - positions]
    first = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    return fmix(np.add.reduceat(terms, first))


def shingle_hashes(batch: NormalizedBatch, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """`shingle_hash64` of every shingle of every text (uint64), and per-text offsets into it."""
    units = unit_hashes(batch)
    per_text = np.diff(batch.unit_offsets)
    counts = np.maximum(per_text - ngram + 1, 0)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if offsets[-1] == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    # Fold every window of `ngram` consecutive units, then keep those inside one text.
    windows = units.size - ngram + 1
    values = units[:windows].copy()
    for j in range(1, ngram):
        values *= np.uint64(_FOLD_PRIME)
        values += units[j:j + windows]
    text_end = np.repeat(batch.unit_offsets[1:], per_text)[:windows]
    return fmix(values[np.arange(windows) + ngram <= text_end]), offsets


# --- signatures and bands ----------------------------------------------------------------------


@dataclass(frozen=True)
class MinHasher:
    """Signatures of `num_perm` permutations: datasketch's `MinHash(num_perm, seed, scheme)`."""

    num_perm: int = 112
    seed: int = 1
    ngram: int = 5
    scheme: Scheme = "affine32"

    @functools.cached_property
    def permutations(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) as datasketch draws them from `RandomState(seed)`; generated by datasketch itself."""
        from datasketch import MinHash

        a, b = MinHash(num_perm=self.num_perm, seed=self.seed, scheme=self.scheme).permutations
        return np.asarray(a, dtype=self.dtype), np.asarray(b, dtype=self.dtype)

    @property
    def dtype(self) -> type:
        """Type of hash values, as datasketch: uint32 for affine32, uint64 (holding 32 bits) for legacy."""
        return np.uint32 if self.scheme == "affine32" else np.uint64

    @property
    def stored_dtype(self) -> np.dtype:
        """How signatures are stored in bytes (the `minhash` column): little-endian `dtype`."""
        return np.dtype(self.dtype).newbyteorder("<")

    def signatures(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures (len(texts), num_perm), has_shingles): one row per text."""
        out = np.empty((len(texts), self.num_perm), dtype=self.dtype)
        has_shingles = np.empty(len(texts), dtype=bool)
        for span, batch in normalized_chunks(texts):
            out[span], has_shingles[span] = self.batch_signatures(batch)
        return out, has_shingles

    def batch_signatures(self, batch: NormalizedBatch) -> tuple[np.ndarray, np.ndarray]:
        """`signatures` of the texts of a normalised batch.

        A text with fewer than `ngram` units has no shingles; its row is all 2^32-1, as an
        empty datasketch MinHash, and `has_shingles` is False.
        """
        hashes, offsets = shingle_hashes(batch, self.ngram)
        return self.from_shingle_hashes(hashes, offsets), np.diff(offsets) > 0

    def from_shingle_hashes(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures of texts whose shingle hashes are `hashes[offsets[i]:offsets[i + 1]]`.

        Works through blocks of shingles, permuting each into a reused (num_perm, block)
        buffer: permutations along rows keep the reduction contiguous, and the reused buffer
        saves the page faults of a fresh multi-megabyte array per block.
        """
        out = np.full((offsets.size - 1, self.num_perm), _MASK32, dtype=self.dtype)
        values = self._premix(hashes & np.uint64(_MASK32))
        a, b = (column[:, None] for column in self.permutations)
        buffer = np.empty((self.num_perm, min(_BLOCK_SHINGLES, values.size)), dtype=self.dtype)
        nonempty = np.flatnonzero(np.diff(offsets) > 0)
        for block in range(0, values.size, _BLOCK_SHINGLES):
            chunk = values[block:block + _BLOCK_SHINGLES]
            permuted = buffer[:, :chunk.size]
            np.multiply(a, chunk, out=permuted)  # wraps mod 2^32 (affine32) or 2^64 (legacy)
            np.add(permuted, b, out=permuted)
            if self.scheme == "legacy":
                np.remainder(permuted, _MERSENNE_61, out=permuted)
                np.bitwise_and(permuted, np.uint64(_MASK32), out=permuted)
            # Texts with shingles in this block: each contributes one segment.
            texts = nonempty[(offsets[nonempty] < block + chunk.size) & (offsets[nonempty + 1] > block)]
            starts = np.maximum(offsets[texts], block) - block
            out[texts] = np.minimum(out[texts], np.minimum.reduceat(permuted, starts, axis=1).T)
        return out

    def _premix(self, hashes32: np.ndarray) -> np.ndarray:
        if self.scheme == "affine32":
            return fmix(hashes32.astype(np.uint32))
        return hashes32


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(len(signatures), bands) int64 keys: band i hashes values [i*rows, (i+1)*rows).

    The band index is folded in, so one key space serves all bands; two documents share a
    key exactly when they share a band (up to 64-bit collisions: ~3% chance of one false
    candidate among 10^9 documents, which verification then drops).
    """
    values = signatures[:, :bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    keys = np.broadcast_to(np.arange(bands, dtype=np.uint64), (len(signatures), bands)).copy()
    for j in range(rows):
        keys = keys * np.uint64(_FOLD_PRIME) + values[:, :, j]
    return fmix(keys).view(np.int64)


def signature_from_bytes(data: bytes, scheme: Scheme) -> np.ndarray:
    """A signature from the `minhash` column (its values little-endian, `MinHasher.stored_dtype`)."""
    hasher = MinHasher(scheme=scheme)
    return np.frombuffer(data, dtype=hasher.stored_dtype).astype(hasher.dtype)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sets of shingle hashes (duplicates ignored)."""
    a, b = np.unique(a), np.unique(b)
    union = a.size + b.size
    if union == 0:
        return 0.0
    shared = np.intersect1d(a, b, assume_unique=True).size
    return shared / (union - shared)
