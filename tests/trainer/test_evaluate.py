"""Bits-per-byte: the formula on a case worked by hand, and the evaluator on a model that knows nothing."""

import math

import numpy as np
import pytest
import torch

from dataflow.shards import TokenDataset, TokenizerInfo, write_token_dataset
from trainer.evaluate import EvalConfig, Evaluator, bits_per_byte
from trainer.model import GPT, GPTConfig


def test_bits_per_byte_by_hand():
    # 300 tokens at 4 bits each cost 1,200 bits = 1,200 * ln 2 nats; 2 bytes per token make 600 bytes.
    assert bits_per_byte(nats=1200 * math.log(2), num_tokens=300, bytes_per_token=2.0) == pytest.approx(2.0)


def test_uniform_model_scores_log2_vocab_over_bytes_per_token(tmp_path):
    # 10 documents of 31 tokens + EOS, 64 bytes of text each: 2 bytes per token. A model that
    # gives every one of 64 tokens the same probability pays ln 64 nats = 6 bits per token,
    # so 6 / 2 = 3 bits per byte.
    docs = [(np.arange(31) + i, 64) for i in range(10)]
    write_token_dataset(tmp_path, docs, source="web", split="validation",
                        tokenizer=TokenizerInfo(path="t", sha256="0" * 64), vocab_size=64, eos_id=63)
    dataset = TokenDataset.open(tmp_path)
    model = GPT(GPTConfig(d_model=32, num_layers=1, num_heads=2, seq_len=16, vocab_size=64, tie_embeddings=False))
    torch.nn.init.zeros_(model.head.weight)  # every logit 0: the uniform distribution
    evaluator = Evaluator({"web": dataset}, seq_len=16, config=EvalConfig(num_sequences=100, batch_size=4))
    result = evaluator.evaluate(model, torch.device("cpu"), bf16=False)["web"]
    assert result.num_tokens == 19 * 16  # (320 - 1) // 16 windows of 16 predicted tokens
    assert result.loss == pytest.approx(math.log(64), rel=1e-6)
    assert result.bits_per_byte == pytest.approx(3.0, rel=1e-6)


def test_eval_set_is_spread_over_the_split_and_capped_by_its_size(tmp_path):
    docs = [(np.arange(31), 64) for _ in range(10)]
    write_token_dataset(tmp_path, docs, source="web", split="validation",
                        tokenizer=TokenizerInfo(path="t", sha256="0" * 64), vocab_size=64, eos_id=63)
    dataset = TokenDataset.open(tmp_path)
    def eval_set(num_sequences):
        return Evaluator({"web": dataset}, seq_len=16, config=EvalConfig(num_sequences=num_sequences)).windows["web"]
    assert eval_set(4).tolist() == [0, 6, 12, 18]  # 19 windows
    assert len(eval_set(99)) == 19
