"""Tokenizers: byte-level BPE round trip on real multilingual pages, EOS discovery, identity checks; all but the
round trip train on the sample generator's articles, so they run without ../shared/data."""

from collections import defaultdict

import pyarrow as pa
import pytest

from dataflow.errors import InputError
from dataflow.shards import ShardEntry, TokenizerInfo, open_split, write_manifest
from dataflow.tokenize.encode import encode_partition, write_partition
from dataflow.tokenize.tokenizer import (TokenizerTrainConfig, load_matching_tokenizer, load_tokenizer, save_tokenizer,
                                train_byte_level_bpe)
from bench.common.real_pages import real_texts
from tests.sample_documents import sample_documents


@pytest.fixture(scope="module")
def pages(shared_data) -> list[dict]:
    return real_texts(shared_data)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """120 sample articles in seven languages: what the tokenizer trains on."""
    return [doc["text"] for doc in sample_documents(120)]


@pytest.fixture(scope="module")
def tokenizer_file(texts, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    save_tokenizer(train_byte_level_bpe(texts, TokenizerTrainConfig(vocab_size=600)), path)
    return path


def test_decode_of_encode_is_the_text_on_real_pages_in_every_language(pages, tokenizer_file):
    by_language = defaultdict(list)
    for page in pages:
        by_language[page["language"]].append(page["text"])
    chosen = [text for texts in by_language.values() for text in texts[:8]]  # zh, ja, ru, ar, ... not just en
    loaded = load_tokenizer(tokenizer_file)
    assert len(by_language) >= 20
    for text, ids in zip(chosen, loaded.encode(chosen)):
        assert loaded.decode(ids) == text
    assert loaded.eos_id == 0 and loaded.vocab_size == 600


def test_training_is_deterministic_for_the_same_sample(texts, tokenizer_file, tmp_path):
    again = save_tokenizer(train_byte_level_bpe(texts, TokenizerTrainConfig(vocab_size=600)), tmp_path / "again.json")
    assert again.sha256 == TokenizerInfo.from_file(tokenizer_file).sha256


def test_eos_is_found_by_its_usual_names_or_named_explicitly(tokenizer_file, tmp_path):
    text = tokenizer_file.read_text()  # the token is both an added token and in the BPE vocabulary
    (tmp_path / "llama.json").write_text(text.replace('"<|endoftext|>"', '"</s>"'))
    assert load_tokenizer(tmp_path / "llama.json").eos_id == 0
    (tmp_path / "chat.json").write_text(text.replace('"<|endoftext|>"', '"<|im_end|>"'))
    with pytest.raises(InputError, match="has no end-of-document token .*name the one it uses with --eos-token"):
        load_tokenizer(tmp_path / "chat.json")
    assert load_tokenizer(tmp_path / "chat.json", eos_token="<|im_end|>").eos_id == 0


def test_a_file_that_is_not_a_tokenizer_is_refused_in_one_line(tmp_path):
    (tmp_path / "bad.json").write_text('{"model": 3}')
    with pytest.raises(InputError, match=r"bad.json is not a Hugging Face tokenizer.json") as caught:
        load_tokenizer(tmp_path / "bad.json")
    assert "\n" not in str(caught.value)
    with pytest.raises(InputError, match="does not exist; train one with `dataflow tokenizer train`"):
        load_tokenizer(tmp_path / "missing.json")


def test_decoding_with_a_tokenizer_other_than_the_manifests_is_refused(tokenizer_file, tmp_path):
    info = TokenizerInfo.from_file(tokenizer_file)
    assert load_matching_tokenizer(info, None, "dataset d").get_vocab_size() == 600
    other = tmp_path / "other.json"
    other.write_text(tokenizer_file.read_text().replace('"<|endoftext|>"', '"<|end_of_text|>"'))
    with pytest.raises(InputError, match=r"dataset d was made with tokenizer sha256 .*, but .*other.json has sha256"):
        load_matching_tokenizer(info, other, "dataset d")


@pytest.mark.slow
@pytest.mark.parametrize(("added", "dtype"), [(65536 - 600, "uint16"), (65537 - 600, "uint32")])
def test_token_files_switch_to_uint32_when_ids_pass_65535(texts, tokenizer_file, tmp_path, added, dtype):
    from tokenizers import Tokenizer

    big = Tokenizer.from_file(str(tokenizer_file))
    big.add_tokens([f"<extra_{i}>" for i in range(added)])  # ids 600 .. 599 + added
    big.save(str(tmp_path / "big.json"))
    loaded = load_tokenizer(tmp_path / "big.json")
    texts = texts[:5] + [f"<extra_{added - 1}> ends the id space"]
    batch = pa.RecordBatch.from_pylist([
        {"split": "train", "shard": 0, "id": str(i), "text": text, "text_bytes": len(text.encode()),
         "language": None, "domain": None, "url": None} for i, text in enumerate(texts)])
    encoded = encode_partition([batch], tokenizer_path=loaded.info.path, tokenizer_sha256=loaded.info.sha256,
                               eos_token=None, encoder="auto", batch_rows=100, threads=1)
    rows = list(write_partition(encoded, directory=str(tmp_path / "out"), vocab_size=loaded.vocab_size,
                                eos_id=loaded.eos_id))
    entries = [ShardEntry.model_validate_json(e) for b in rows for e in b.column("entry").to_pylist() if e]
    write_manifest(tmp_path / "out" / "train", entries, source="web", split="train", tokenizer=loaded.info,
                   vocab_size=loaded.vocab_size, eos_id=loaded.eos_id)
    dataset = open_split(tmp_path / "out", "train", verify=True)
    assert loaded.vocab_size == 600 + added and dataset.manifest.dtype == dtype
    last = dataset.document(0, len(texts) - 1)
    assert last[0] == 599 + added and loaded.decode(last[:-1]) == texts[-1]
