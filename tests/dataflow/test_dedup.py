"""The dedup stage's engine-free parts: config, the Arrow functions Spark runs, URL keys, edits."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from dataflow.config import validate_config
from dataflow.dedup.batches import DedupConfig, signature_batches, star_jaccard_batches, size_bucket, url_key
from dataflow.errors import ConfigError
from dataflow.dedup.minhash import MinHasher, band_keys, shingle_hash64, shingles, signature_from_bytes
from tests.minhash_reference import datasketch_minhash
from bench.common.text_edits import EDITS, near_duplicate

ARTICLE = ("The city council voted on Tuesday to expand the bike lane network across the northern districts, "
           "after a year of consultations with residents and shop owners.\nThe plan adds forty kilometres of "
           "protected lanes by 2026 and will be paid for from the transport budget.")


def test_signature_pass_gives_keys_signatures_and_bands():
    config = DedupConfig()
    texts = [ARTICLE, ARTICLE.upper().replace(",", " ;"), "too short", None]
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b", "c", "d"], "text": texts, "rank": [1, 2, 3, 4]})
    (out,) = signature_batches([batch], config, bands=14, rows=8)
    rows = out.to_pylist()
    assert out.schema.names == ["id", "rank", "text_key", "url_key", "minhash", "band_keys"]
    assert rows[0]["text_key"] == rows[1]["text_key"] and rows[2]["text_key"] != rows[0]["text_key"]
    assert rows[3]["text_key"] is None  # no words: duplicates nothing
    expected = datasketch_minhash(ARTICLE, config.hasher).hashvalues
    assert np.array_equal(signature_from_bytes(rows[0]["minhash"], "affine32"), expected)
    assert rows[0]["band_keys"] == band_keys(expected[None, :], 14, 8)[0].tolist()
    assert [row["minhash"] for row in rows[2:]] == [None, None] and rows[2]["band_keys"] is None


def test_large_batches_are_processed_in_slices(monkeypatch):
    monkeypatch.setattr("dataflow.dedup.batches._SLICE_BYTES", 600)
    texts = [f"{ARTICLE} number {i}" for i in range(7)]
    batch = pa.RecordBatch.from_pydict({"id": [str(i) for i in range(7)], "text": texts})
    out = pa.Table.from_batches(list(signature_batches([batch], DedupConfig(), bands=14, rows=8)))
    assert out.column("id").to_pylist() == [str(i) for i in range(7)]
    signatures, _ = MinHasher().signatures(texts)
    assert [signature_from_bytes(value, "affine32").tolist() for value in out.column("minhash").to_pylist()] == \
        signatures.tolist()


def test_verification_computes_exact_jaccard_of_each_member_with_its_star_centre():
    copy = ARTICLE.replace("Tuesday", "Monday")
    first = pa.RecordBatch.from_pydict({"centre": ["a", "a"], "id": ["a", "x"], "text": [ARTICLE, copy]})
    second = pa.RecordBatch.from_pydict({"centre": ["a", "b", "b"], "id": ["y", "b", "z"],
                                         "text": ["unrelated words only here", copy, copy]})
    out = pa.Table.from_batches(list(star_jaccard_batches([first, second], ngram=5)))
    a, b = ({shingle_hash64(s) for s in shingles(text, 5)} for text in (copy, ARTICLE))
    assert out.to_pydict() == {"src": ["x", "y", "z"], "dst": ["a", "a", "b"],
                               "jaccard": [len(a & b) / len(a | b), 0.0, 1.0]}


@pytest.mark.parametrize("url, key", [
    ("HTTP://www.Example.COM:80/a/b/#top", "example.com/a/b"),
    ("https://example.com:443/?q=1", "example.com?q=1"),
    ("http://example.com/?q=1", "example.com?q=1"),
    ("https://example.com:8443/x", "example.com:8443/x"),
    ("https://Example.com/Case/", "example.com/Case"),
    ("http://[::1", "http://[::1"),  # unparsable: kept as given
    (None, None),
])
def test_url_keys(url, key):
    assert url_key(url) == key


@pytest.mark.parametrize("size, bucket", [(2, "2"), (3, "3-4"), (4, "3-4"), (5, "5-8"), (9, "9-16"), (1000,
                                                                                                      "513-1024")])
def test_cluster_size_buckets(size, bucket):
    assert size_bucket(size) == bucket


def test_bands_and_rows_go_together_and_fit_num_perm():
    assert DedupConfig(bands=14, rows=8).lsh_params() == (14, 8)
    with pytest.raises(ConfigError, match="give both dedup.bands and dedup.rows"):
        validate_config(DedupConfig, {"bands": 14}, "test")
    with pytest.raises(ConfigError, match="exceeds num_perm"):
        validate_config(DedupConfig, {"bands": 20, "rows": 8}, "test")


def test_near_duplicate_edits_are_seeded():
    first = near_duplicate(ARTICLE, random.Random(3))
    assert first == near_duplicate(ARTICLE, random.Random(3)) and first[0] != ARTICLE
    assert all(EDITS[name](ARTICLE, random.Random(1), 0.2) != ARTICLE for name in EDITS)
    chinese = "北京市今天发布了新的交通规划，计划在五年内建设更多的自行车道。"
    assert EDITS["delete_words"](chinese, random.Random(1), 0.2).count("，") <= 1  # characters, not words
