"""`tokenize --megatron`: per-document Megatron-LM indexed datasets beside the shards, read back by
megatron-core's own `IndexedDataset` for every document's tokens; a uint32 vocabulary is written as int32.
And the tokenizer options other trainers' files need: a Hugging Face tokenizer folder, a BOS token."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tokenizers import Tokenizer, models, trainers

from dataflow.errors import InputError
from dataflow.shards import TokenizerInfo, open_split, split_path, write_token_dataset
from dataflow.tokenize.megatron_docs import MEGATRON_DIR, write_megatron_shard
from dataflow.tokenize.tokenizer import load_tokenizer
from jobs import tokenize_docs
from tests.byte_level_bpe import byte_level_bpe
from tests.document_files import write_jsonl
from tests.sample_documents import sample_documents
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

with warnings.catch_warnings():  # megatron-core warns at import that Transformer Engine and Apex are absent
    warnings.simplefilter("ignore")
    from megatron.core.datasets.indexed_dataset import IndexedDataset


def assert_megatron_equals(dataset, prefix_dir):
    """Every document of every shard of `dataset`, EOS included, as Megatron's reader returns it."""
    for shard, entry in enumerate(dataset.manifest.shards):
        megatron = IndexedDataset(str(prefix_dir / entry.file.removesuffix(".bin")))
        assert len(megatron) == entry.num_documents
        for i in range(entry.num_documents):
            assert np.array_equal(megatron[i], dataset.document(shard, i))


def test_every_document_reads_back_through_megatron_core(spark, tmp_path):
    """Also: the tokenizer given as a Hugging Face folder, and a BOS before every document."""
    pages = sample_documents(40, seed=40)  # seven languages, so the BPE meets several scripts
    source = write_jsonl(tmp_path / "docs.jsonl", [{"body": page["text"]} for page in pages])
    tokenizer = byte_level_bpe([page["text"] for page in pages], 600, ("<|endoftext|>", "<s>"))
    (tmp_path / "hf_tokenizer").mkdir()
    tokenizer.save(str(tmp_path / "hf_tokenizer" / "tokenizer.json"))
    out = tmp_path / "tokens"
    assert tokenize_docs.main(["--input", str(source), "--text-column", "body", "--tokenizer",
                               str(tmp_path / "hf_tokenizer"), "--bos-token", "<s>", "--num-shards", "2",
                               "--validation-frac", "0.2", "--megatron", "--output", str(out)]) == 0
    stats = stats_of(out)
    assert stats["megatron_documents"] == {split: stats["splits"][split]["documents"] for split in stats["splits"]}
    assert sum(stats["megatron_documents"].values()) == len(pages)
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("<|endoftext|>")
    encoded = set()
    for split in ("train", "validation"):
        dataset = open_split(out, split)
        assert_megatron_equals(dataset, out / MEGATRON_DIR / split)
        for shard, entry in enumerate(dataset.manifest.shards):
            for i in range(entry.num_documents):
                document = dataset.document(shard, i).tolist()
                assert (document[0], document[-1]) == (bos, eos)
                encoded.add(tuple(document[1:-1]))
    assert encoded == {tuple(tokenizer.encode(page["text"]).ids) for page in pages}


def test_a_uint32_vocabulary_is_written_as_int32(tmp_path):
    rng = np.random.default_rng(0)
    docs = [(np.append(rng.integers(0, 70_000, size=n), 69_999), 10) for n in (5, 1, 30)]
    (tmp_path / "tokenizer.json").write_text("{}")
    write_token_dataset(split_path(tmp_path, "train"), docs, source="big", split="train", vocab_size=70_000,
                        eos_id=69_999, tokenizer=TokenizerInfo.from_file(tmp_path / "tokenizer.json"))
    dataset = open_split(tmp_path, "train")
    assert dataset.tokens[0].dtype == np.uint32
    entry = dataset.manifest.shards[0]
    assert write_megatron_shard(tmp_path, "train", entry.file, entry.index_file, 70_000) == 3
    assert IndexedDataset(str(tmp_path / MEGATRON_DIR / "train" / "00000")).index.dtype == np.int32
    assert_megatron_equals(dataset, tmp_path / MEGATRON_DIR / "train")



def test_tokenizer_folder_without_tokenizer_json_and_unknown_bos_are_refused(tmp_path):
    with pytest.raises(InputError, match="holds no tokenizer.json"):
        load_tokenizer(tmp_path)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.train_from_iterator(["a b c"], trainers.BpeTrainer(vocab_size=40, special_tokens=["<|endoftext|>"]))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    assert load_tokenizer(tmp_path).bos_id is None
    with pytest.raises(InputError, match="no token '<s>' for --bos-token"):
        load_tokenizer(tmp_path, bos_token="<s>")
