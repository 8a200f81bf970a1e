"""Real text end to end: a byte-level BPE trained here, token datasets from it, a model that learns it.

Uses Shakespeare from the shared test data (`shared/data/text/books/`), found in the nearest
folder above the repository; skipped when it is absent. Nothing is copied into the repository.
"""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from dataflow.mix.mixture import load_mixture, open_sources
from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from trainer.metrics import read_jsonl
from trainer.train import train

from conftest import tiny_config

BOOKS = next((folder / "shared" / "data" / "text" / "books" for folder in Path(__file__).resolve().parents
              if (folder / "shared" / "data" / "text" / "books").is_dir()), None)
pytestmark = pytest.mark.skipif(BOOKS is None, reason="shared/data/text/books not found above the repository")


def paragraphs() -> list[str]:
    with gzip.open(BOOKS / "tinyshakespeare.txt.gz", "rt", encoding="utf-8") as f:
        text = f.read(300_000)
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def test_model_learns_real_text_and_bits_per_byte_falls(tmp_path):
    docs = paragraphs()
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(docs, trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    info, eos = TokenizerInfo.from_file(tmp_path / "tokenizer.json"), tokenizer.token_to_id("<|endoftext|>")
    encoded = tokenizer.encode_batch(docs)
    assert tokenizer.decode(encoded[0].ids) == docs[0]
    held_out = [hashlib.sha256(doc.encode()).digest()[0] < 26 for doc in docs]  # ~10% by a hash of the document
    for split, keep in (("train", False), ("validation", True)):
        chosen = [(np.array(e.ids), len(doc.encode())) for e, doc, out in zip(encoded, docs, held_out) if out == keep]
        write_token_dataset(split_path(tmp_path / "plays", split), chosen, source="plays", split=split,
                            tokenizer=info, vocab_size=tokenizer.get_vocab_size(), eos_id=eos)
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump({"name": "plays", "total_tokens": 10**5, "sources": {
        "plays": {"path": str(tmp_path / "plays"), "weight": 1.0}}}))
    open_sources(load_mixture(tmp_path / "mix.yaml"), "validation")["plays"].require_tokenizer(info.sha256)

    train(tiny_config(tmp_path / "run", tmp_path / "mix.yaml", max_steps=40, eval={"every_steps": 40},
                      optim={"lr": 1e-2, "warmup_steps": 5}))
    evals = [row["plays"] for row in read_jsonl(tmp_path / "run" / "metrics.jsonl") if row["kind"] == "eval"]
    assert evals[0]["loss"] == pytest.approx(np.log(512), rel=0.05)  # untrained: close to uniform
    assert evals[-1]["loss"] < 0.85 * evals[0]["loss"]
    assert 1.0 < evals[-1]["bits_per_byte"] < evals[0]["bits_per_byte"]
