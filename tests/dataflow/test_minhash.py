"""MinHash signatures equal datasketch's on the sample generator's articles in seven languages; shingles,
band keys and LSH parameters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from dataflow.dedup.batches import optimal_lsh_params
from dataflow.dedup.minhash import (MinHasher, band_keys, jaccard, shingle_hash, shingle_hash64,
                              shingle_hashes, shingles)
from dataflow.text import normalize_batch
from tests.minhash_reference import datasketch_minhash
from tests.sample_documents import sample_documents


@pytest.fixture(scope="module")
def pages() -> list[str]:
    """337 sample articles in seven languages, about a fifth of them Chinese or Japanese."""
    return [doc["text"] for doc in sample_documents(337)]


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_signatures_equal_datasketch_minhash_on_sample_articles(pages, scheme):
    hasher = MinHasher(num_perm=112, seed=7, scheme=scheme)
    signatures, has_shingles = hasher.signatures(pages)
    for text, signature in zip(pages, signatures):
        reference = MinHash(num_perm=112, seed=7, scheme=scheme, hashfunc=shingle_hash)
        reference.update_batch(shingles(text, 5))
        assert reference.hashvalues.dtype == signature.dtype
        assert np.array_equal(reference.hashvalues, signature)
    assert has_shingles.all() and len(pages) == 337


def test_datasketch_per_shingle_update_gives_the_same_signature(pages):
    hasher = MinHasher()
    text = next(page for page in pages if 50 < len(page.split()) < 300)
    reference = MinHash(num_perm=hasher.num_perm, seed=hasher.seed, hashfunc=shingle_hash)
    for shingle in shingles(text, hasher.ngram):
        reference.update(shingle)
    assert np.array_equal(reference.hashvalues, hasher.signatures([text])[0][0])
    assert reference == datasketch_minhash(text, hasher)


def test_vectorised_shingle_hashes_equal_the_reference_function(pages):
    hashes, offsets = shingle_hashes(normalize_batch(pages[:40]), 5)
    for i, text in enumerate(pages[:40]):
        assert hashes[offsets[i]:offsets[i + 1]].tolist() == [shingle_hash64(s) for s in shingles(text, 5)]


def test_cjk_shingles_are_character_ngrams():
    assert shingles("東京タワーは高い。Tokyo tower", 5) == [
        ("東", "京", "タ", "ワ", "ー"), ("京", "タ", "ワ", "ー", "は"), ("タ", "ワ", "ー", "は", "高"),
        ("ワ", "ー", "は", "高", "い"), ("ー", "は", "高", "い", "tokyo"), ("は", "高", "い", "tokyo", "tower")]


def test_text_shorter_than_one_shingle_has_no_signature():
    signatures, has_shingles = MinHasher().signatures(["only four words here", "", None, "five words make one shingle"])
    assert has_shingles.tolist() == [False, False, False, True]
    assert (signatures[:3] == np.uint32(2**32 - 1)).all()
    assert np.array_equal(signatures[3], datasketch_minhash("five words make one shingle", MinHasher()).hashvalues)


def test_band_key_candidates_equal_datasketch_minhash_lsh(pages):
    hasher, bands, rows = MinHasher(), 14, 8
    texts = pages[:150] + [text + " extra words at the end of it" for text in pages[:20]]
    signatures, has_shingles = hasher.signatures(texts)
    keys = band_keys(signatures, bands, rows)
    ours = {(i, j) for i, j in itertools.combinations(range(len(texts)), 2)
            if has_shingles[i] and has_shingles[j] and set(keys[i]) & set(keys[j])}
    lsh = MinHashLSH(num_perm=hasher.num_perm, params=(bands, rows))
    for i in np.flatnonzero(has_shingles):
        lsh.insert(int(i), MinHash(hashvalues=signatures[i], seed=hasher.seed, scheme=hasher.scheme))
    theirs = {(min(i, j), max(i, j)) for i in np.flatnonzero(has_shingles)
              for j in lsh.query(MinHash(hashvalues=signatures[i], seed=hasher.seed, scheme=hasher.scheme)) if i != j}
    assert ours == theirs and len(ours) >= 20


def test_exact_jaccard_of_shingle_hashes():
    a, b = np.array([1, 2, 3, 3], dtype=np.uint64), np.array([2, 3, 4], dtype=np.uint64)
    assert jaccard(a, b) == 0.5
    assert jaccard(a[:0], b[:0]) == 0.0


@pytest.mark.parametrize("threshold, num_perm, weights, expected", [
    (0.8, 112, (0.05, 0.95), (14, 8)),  # our default: FineWeb's 14 x 8
    (0.8, 112, (0.5, 0.5), (9, 12)),  # datasketch's default weights
    (0.7, 128, (0.5, 0.5), (14, 9)),  # RedPajama-v2's minhash_signature_0.7
    (0.8, 128, (0.5, 0.5), (9, 13)),  # RedPajama-v2's minhash_signature_0.8
])
def test_optimal_lsh_parameters_match_published_settings(threshold, num_perm, weights, expected):
    assert optimal_lsh_params(threshold, num_perm, *weights) == expected
