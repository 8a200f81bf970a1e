"""datasketch's MinHash of a text with our shingles and hash function: the reference our signatures
must equal bit for bit (dataflow/dedup/minhash.py), and what datasketch's MinHashLSH queries."""

from __future__ import annotations

from datasketch import MinHash

from dataflow.dedup.minhash import MinHasher, shingle_hash, shingles


def datasketch_minhash(text: str, hasher: MinHasher) -> MinHash:
    """The datasketch MinHash of `text` with our shingles and hash function: equal to ours."""
    minhash = MinHash(num_perm=hasher.num_perm, seed=hasher.seed, scheme=hasher.scheme, hashfunc=shingle_hash)
    minhash.update_batch(shingles(text, hasher.ngram))
    return minhash
