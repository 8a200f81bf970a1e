"""Bits-per-byte: the formula on a case worked by hand, and the evaluator on a model that knows nothing."""

import math

import numpy as np
import pytest
import torch

from dataflow.shards import TokenDataset, TokenizerInfo, write_token_dataset
from trainer.evaluate import EvalConfig, Evaluator, bits_per_byte, standard_error
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


class CopyModel(torch.nn.Module):
    """Gives the next token probability P_COPY of repeating the current one, the rest spread evenly: a window
    of one repeated token costs -ln P_COPY per token, a window of distinct tokens -ln((1 - P_COPY) / 63)."""

    P_COPY = 0.9

    def forward(self, inputs):
        other = math.log((1 - self.P_COPY) / 63)
        logits = torch.full((*inputs.shape, 64), other)
        return logits.scatter(2, inputs.unsqueeze(-1), math.log(self.P_COPY))


def test_standard_error_over_windows_of_known_costs(tmp_path):
    # 40 windows of 16 predicted tokens, 2 bytes per token: 10 blocks of one repeated token (cheap), 30 of
    # distinct tokens (dear). Every target's cost is known, so is each window's bpb and their sample std.
    seq_len, cheap, dear = 16, 10, 30
    tokens = np.concatenate([np.full(seq_len, 5)] * cheap + [np.arange(seq_len) + 1] * dear)
    write_token_dataset(tmp_path, [(tokens, 2 * (len(tokens) + 1))], source="target", split="validation",
                        tokenizer=TokenizerInfo(path="t", sha256="0" * 64), vocab_size=64, eos_id=63)
    dataset = TokenDataset.open(tmp_path)
    assert dataset.num_windows(seq_len) == cheap + dear  # 641 tokens with the EOS
    evaluator = Evaluator({"target": dataset}, seq_len=seq_len, config=EvalConfig(num_sequences=1000, batch_size=7))
    result = evaluator.evaluate(CopyModel(), torch.device("cpu"), bf16=False)["target"]

    stream = np.append(tokens, 63)
    copies = stream[1:] == stream[:-1]  # target i repeats its input or not
    costs = np.where(copies, -math.log(CopyModel.P_COPY), -math.log((1 - CopyModel.P_COPY) / 63))
    per_window = costs.reshape(-1, seq_len).sum(1) / math.log(2) / (seq_len * 2.0)
    assert len(set(per_window.round(9))) == 3  # all-copy, one miss (cheap to dear), all-miss windows
    assert result.bits_per_byte == pytest.approx(per_window.mean(), rel=1e-6)
    assert result.bits_per_byte_se == pytest.approx(per_window.std(ddof=1) / math.sqrt(40), rel=1e-6)


def test_standard_error_matches_the_spread_of_scores_over_resampled_windows():
    # Per-window costs drawn with a known std: the SE estimate must match sigma / sqrt(n) in bits per byte.
    rng = np.random.default_rng(0)
    n, seq_len, bytes_per_token, sigma = 4000, 64, 4.0, 30.0
    nats = rng.normal(200.0, sigma, size=n)
    expected = sigma / math.log(2) / (seq_len * bytes_per_token) / math.sqrt(n)
    assert standard_error(nats, seq_len, bytes_per_token) == pytest.approx(expected, rel=0.05)
    assert standard_error(nats[:1], seq_len, bytes_per_token) == 0.0


def test_named_datasets_get_their_own_window_count(tmp_path):
    docs = [(np.arange(31), 64) for _ in range(10)]
    write_token_dataset(tmp_path, docs, source="web", split="validation",
                        tokenizer=TokenizerInfo(path="t", sha256="0" * 64), vocab_size=64, eos_id=63)
    dataset = TokenDataset.open(tmp_path)
    evaluator = Evaluator({"web": dataset, "target": dataset}, seq_len=16,
                          config=EvalConfig(num_sequences=4, sequences={"target": 10}))
    assert (len(evaluator.windows["web"]), len(evaluator.windows["target"])) == (4, 10)
