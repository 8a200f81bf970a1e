"""Tokenizers: byte-level BPE round trip on real multilingual pages, EOS discovery, identity checks."""

from collections import defaultdict

import pytest

from dataflow.errors import InputError
from dataflow.shards import TokenizerInfo
from dataflow.tokenizer import (TokenizerTrainConfig, load_matching_tokenizer, load_tokenizer, save_tokenizer,
                                train_byte_level_bpe)
from tests.real_documents import real_texts


@pytest.fixture(scope="module")
def pages(shared_data) -> list[dict]:
    return real_texts(shared_data)


@pytest.fixture(scope="module")
def tokenizer_file(pages, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    save_tokenizer(train_byte_level_bpe((page["text"] for page in pages[:120]), TokenizerTrainConfig(vocab_size=600)),
                   path)
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


def test_training_is_deterministic_for_the_same_sample(pages, tokenizer_file, tmp_path):
    again = save_tokenizer(train_byte_level_bpe((p["text"] for p in pages[:120]), TokenizerTrainConfig(vocab_size=600)),
                           tmp_path / "again.json")
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
