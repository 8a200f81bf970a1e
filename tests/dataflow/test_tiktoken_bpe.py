"""tiktoken built from our byte-level BPE: the same ids as `tokenizers` on every real page and the
multilingual sentences of ../shared/data/text, and a clear fallback when it cannot be exact."""

from __future__ import annotations

import gzip
import json

import pytest

from dataflow.tokenize.encode import choose_encoder
from dataflow.tokenize.tiktoken_bpe import encode_texts, exact_encoding
from dataflow.tokenize.tokenizer import TokenizerTrainConfig, load_tokenizer, save_tokenizer, train_byte_level_bpe
from bench.common.real_pages import real_texts


@pytest.fixture(scope="module")
def pages(shared_data) -> list[str]:
    return [page["text"] for page in real_texts(shared_data)]


@pytest.fixture(scope="module")
def sentences(shared_data) -> list[str]:
    folder = shared_data / "text" / "lingua-testdata" / "sentences"
    return [line.rstrip("\n") for path in sorted(folder.glob("*.txt.gz"))
            for line in gzip.open(path, "rt", encoding="utf-8")]


@pytest.fixture(scope="module")
def tokenizer_file(pages, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    save_tokenizer(train_byte_level_bpe(pages[::4], TokenizerTrainConfig(vocab_size=4000)), path)
    return path


@pytest.mark.slow
def test_tiktoken_gives_tokenizers_ids_on_every_real_page_and_sentence(pages, sentences, tokenizer_file):
    loaded = load_tokenizer(tokenizer_file)
    encode, line = choose_encoder(loaded, "auto")
    assert line.startswith("tiktoken") and len(pages) == 1_688 and len(sentences) == 74_141
    for texts in (pages, sentences):
        expected = [encoding.ids for encoding in loaded.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        assert [ids.tolist() for ids in encode(texts)] == expected


def test_end_of_text_inside_a_document_is_the_eos_id_as_in_tokenizers(tokenizer_file):
    loaded = load_tokenizer(tokenizer_file)
    encoding, _ = exact_encoding(loaded.info.path, loaded.info.sha256)
    ids = encode_texts(encoding, ["one<|endoftext|>two"])[0].tolist()
    assert loaded.eos_id in ids and ids == loaded.tokenizer.encode("one<|endoftext|>two").ids


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda spec: spec.update(normalizer={"type": "NFKC"}), "it has a normaliser"),
    (lambda spec: spec["pre_tokenizer"].update(add_prefix_space=True),
     "its pre-tokeniser is not GPT-2's ByteLevel(add_prefix_space=False, use_regex=True)"),
    (lambda spec: spec["model"]["merges"].reverse(), "does not make a token with a larger id than the merges before"),
])
def test_a_tokenizer_that_cannot_convert_exactly_is_encoded_by_tokenizers_with_the_reason(
        tokenizer_file, tmp_path, edit, reason):
    spec = json.loads(tokenizer_file.read_text())
    edit(spec)
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    encode, line = choose_encoder(loaded, "auto")
    assert line.startswith(f"tokenizers: tiktoken cannot encode {loaded.info.path} exactly (") and reason in line
    assert encode(["naïve café"])[0].tolist() == loaded.tokenizer.encode("naïve café", add_special_tokens=False).ids


def test_encoder_tokenizers_setting_skips_tiktoken(tokenizer_file):
    assert choose_encoder(load_tokenizer(tokenizer_file), "tokenizers")[1] == "tokenizers (encoder: tokenizers)"
