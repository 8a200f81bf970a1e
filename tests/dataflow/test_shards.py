"""Token-dataset format: round trip, integrity checks that name the shard, dtype switch."""

import json
import subprocess
import sys

import numpy as np
import pytest

from dataflow.errors import InputError
from dataflow.shards import (MANIFEST, TokenDataset, TokenizerInfo, open_split, token_dtype, write_manifest,
                             write_shard, write_token_dataset)

TOKENIZER = TokenizerInfo(path="tokenizer.json", sha256="ab" * 32)


def random_docs(count: int, vocab_size: int, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, vocab_size - 1, size=rng.integers(1, 50)), int(rng.integers(1, 200)))
            for _ in range(count)]


def write(path, docs, vocab_size=1000, split="train", max_shard_tokens=300):
    return write_token_dataset(path, docs, source="web", split=split, tokenizer=TOKENIZER,
                               vocab_size=vocab_size, eos_id=vocab_size - 1, max_shard_tokens=max_shard_tokens)


def test_documents_round_trip_with_eos_and_manifest_totals(tmp_path):
    docs = random_docs(40, 1000)
    manifest = write(tmp_path, docs)
    dataset = TokenDataset.open(tmp_path, verify=True)
    assert len(manifest.shards) > 1
    read = [dataset.document(shard, i) for shard, entry in enumerate(manifest.shards)
            for i in range(entry.num_documents)]
    assert len(read) == len(docs)
    for (ids, _), got in zip(docs, read):
        assert got[-1] == 999 and np.array_equal(got[:-1], ids)
    assert dataset.num_tokens == sum(len(ids) + 1 for ids, _ in docs)
    assert dataset.text_bytes == sum(nbytes for _, nbytes in docs)
    assert dataset.num_documents == 40


def test_windows_pack_documents_and_overlap_by_one_token(tmp_path):
    docs = [(np.arange(10), 10), (np.arange(20, 25), 5)]  # one shard: 0..9 EOS 20..24 EOS
    write(tmp_path, docs, max_shard_tokens=10**6)
    dataset = TokenDataset.open(tmp_path)
    assert dataset.num_windows(seq_len=4) == 4  # (17 - 1) // 4
    windows = dataset.read_windows(np.array([0, 3]), seq_len=4)
    assert windows.tolist() == [[0, 1, 2, 3, 4], [21, 22, 23, 24, 999]]


def test_flipped_byte_is_reported_with_the_shard_name(tmp_path):
    write(tmp_path, random_docs(40, 1000))
    shard = tmp_path / "00001.bin"
    data = bytearray(shard.read_bytes())
    data[7] ^= 0x01
    shard.write_bytes(bytes(data))
    TokenDataset.open(tmp_path)  # sizes still agree: only the hash can tell
    with pytest.raises(InputError, match=r"shard 00001\.bin is corrupt"):
        TokenDataset.open(tmp_path, verify=True)


def test_truncated_shard_is_refused_at_open(tmp_path):
    write(tmp_path, random_docs(40, 1000))
    shard = tmp_path / "00002.bin"
    shard.write_bytes(shard.read_bytes()[:-2])
    with pytest.raises(InputError, match=r"shard 00002\.bin is \d+ bytes, manifest says"):
        TokenDataset.open(tmp_path)


@pytest.mark.parametrize(("vocab_size", "dtype"), [(65536, "uint16"), (65537, "uint32")])
def test_dtype_switches_from_uint16_to_uint32_past_65536(tmp_path, vocab_size, dtype):
    top = np.array([0, vocab_size - 2])  # the largest id that is not EOS
    manifest = write(tmp_path, [(top, 2)], vocab_size=vocab_size)
    dataset = TokenDataset.open(tmp_path, verify=True)
    assert manifest.dtype == dtype == token_dtype(vocab_size).name
    assert dataset.document(0, 0).tolist() == [0, vocab_size - 2, vocab_size - 1]
    assert (tmp_path / "00000.bin").stat().st_size == 3 * np.dtype(dtype).itemsize


def test_token_outside_vocabulary_is_refused_and_leaves_no_files(tmp_path):
    with pytest.raises(InputError, match="token id 1000 in shard 00000 is outside the vocabulary"):
        write_shard(tmp_path, 0, [(np.array([1, 1000]), 4)], vocab_size=1000, eos_id=999)
    assert list(tmp_path.iterdir()) == []


def test_spark_style_shards_written_apart_then_manifest(tmp_path):
    entries = [write_shard(tmp_path, index, random_docs(5, 1000, seed=index), vocab_size=1000, eos_id=999)
               for index in (2, 0, 1)]  # tasks finish in any order
    manifest = write_manifest(tmp_path, entries, source="web", split="validation", tokenizer=TOKENIZER,
                              vocab_size=1000, eos_id=999, config={"validation_frac": 0.01})
    assert [entry.file for entry in manifest.shards] == ["00000.bin", "00001.bin", "00002.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "00000.bin", "00000.idx", "00001.bin", "00001.idx", "00002.bin", "00002.idx", MANIFEST]
    assert TokenDataset.open(tmp_path, verify=True).manifest.config == {"validation_frac": 0.01}


def test_folder_without_manifest_is_not_a_dataset(tmp_path):
    with pytest.raises(InputError, match="is not a token dataset: manifest.json is missing"):
        TokenDataset.open(tmp_path)


def test_unknown_format_version_is_refused(tmp_path):
    write(tmp_path, random_docs(3, 1000))
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(InputError, match="format version 99 is not the supported 1"):
        TokenDataset.open(tmp_path)


def test_tokenizer_mismatch_is_an_error(tmp_path):
    write(tmp_path, random_docs(3, 1000))
    dataset = TokenDataset.open(tmp_path)
    dataset.require_tokenizer("ab" * 32)
    with pytest.raises(InputError, match="was made with tokenizer tokenizer.json"):
        dataset.require_tokenizer("cd" * 32)


def test_split_folder_must_hold_that_split(tmp_path):
    write(tmp_path / "validation", random_docs(3, 1000), split="train")
    with pytest.raises(InputError, match="holds the train split, not validation"):
        open_split(tmp_path, "validation")


def test_format_and_mixture_modules_do_not_import_torch():
    code = "import sys, dataflow.shards, dataflow.mix.mixture; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
