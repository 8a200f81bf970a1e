"""The mixture loader: an exact stream after restore, disjoint ranks, realised shares, epochs."""

import numpy as np
import pytest
import torch

from dataflow.errors import ConfigError
from dataflow.mix.mixture import load_mixture, open_sources
from trainer.data import MixtureLoader

from conftest import write_mixture, write_source

SEQ_LEN = 16


def loader(mixture_file, rank=0, world_size=1, batch_size=4, shares=None):
    mixture = load_mixture(mixture_file)
    return MixtureLoader(open_sources(mixture, "train"), shares or mixture.shares, seq_len=SEQ_LEN,
                         batch_size=batch_size, seed=mixture.seed, rank=rank, world_size=world_size)


def test_state_restores_the_exact_token_stream(mixture_file):
    first = loader(mixture_file)
    for _ in range(40):
        first.next_batch()
    state = first.state_dict()
    expected = [first.next_batch() for _ in range(8)]
    fresh = loader(mixture_file)
    fresh.load_state_dict(state)
    for want, got in zip(expected, (fresh.next_batch() for _ in range(8))):
        assert torch.equal(want.inputs, got.inputs) and torch.equal(want.targets, got.targets)


def test_targets_are_inputs_shifted_by_one(mixture_file):
    batch = loader(mixture_file).next_batch()
    assert batch.inputs.shape == batch.targets.shape == (4, SEQ_LEN)
    assert torch.equal(batch.inputs[:, 1:], batch.targets[:, :-1])


def test_ranks_read_disjoint_parts_that_make_up_the_single_rank_batch(mixture_file):
    whole = loader(mixture_file, batch_size=6)
    ranks = [loader(mixture_file, rank=r, world_size=3, batch_size=2) for r in range(3)]
    for _ in range(5):
        everything = whole.next_batch().inputs
        parts = [rank.next_batch().inputs for rank in ranks]
        for r, part in enumerate(parts):
            assert torch.equal(part, everything[r::3])


def test_mixture_shares_are_realised_within_tolerance(mixture_file):
    stream = loader(mixture_file, batch_size=8, shares={"web": 0.9, "wiki": 0.1})
    for _ in range(250):
        stream.next_batch()
    tokens = stream.tokens_per_source()
    total = sum(tokens.values())
    assert total == 250 * 8 * SEQ_LEN
    assert abs(tokens["wiki"] / total - 0.1) < 0.002  # 2,000 sequences: within 1 + 2 * 0.1 of 200


def test_every_window_is_read_once_per_epoch(tmp_path):
    rng = np.random.default_rng(0)
    random_docs = [(rng.integers(0, 63, size=100), 100) for _ in range(20)]  # 16 random tokens never repeat
    mixture = write_mixture(tmp_path / "random.yaml", {"random": (write_source(tmp_path / "random", "random",
                                                                                train_docs=random_docs), 1.0)})
    stream = loader(mixture)
    windows = stream.num_windows["random"]
    first_epoch = np.concatenate([stream.next_batch().inputs.numpy() for _ in range(windows // 4)])
    assert len({row.tobytes() for row in first_epoch}) == len(first_epoch) == windows // 4 * 4


def test_restoring_a_stream_drawn_with_another_mixture_is_refused(mixture_file):
    state = loader(mixture_file).state_dict()
    with pytest.raises(ConfigError, match="data stream was drawn with .* resume with the same mixture"):
        loader(mixture_file, shares={"web": 0.5, "wiki": 0.5}).load_state_dict(state)
