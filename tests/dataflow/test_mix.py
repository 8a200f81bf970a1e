"""Mix maths without Spark: realised shares at 10M-token budgets, window reads, repeated documents."""

import numpy as np
import pytest

from dataflow.mix.write import document_reads
from dataflow.mix.mixture import SourceSchedule, SourceWindows, apportion, load_mixture
from tests.conftest import REPO_ROOT

MIXTURES = [
    {"web": 0.7, "wiki": 0.2, "books": 0.1},
    {"web": 0.5, "code": 0.25, "math": 0.15, "wiki": 0.099, "rare": 0.001},
    {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3},
]


@pytest.mark.parametrize("shares", MIXTURES)
@pytest.mark.parametrize(("total_tokens", "seq_len"), [(10_000_000, 2048), (10_000_000, 4096), (50_000_000, 2048)])
def test_realised_shares_are_within_half_a_percent_of_target_from_10m_tokens(shares, total_tokens, seq_len):
    num_sequences = total_tokens // seq_len
    realised = SourceSchedule(shares, seed=11).counts(num_sequences) / num_sequences
    target = np.array(list(shares.values()))
    assert np.all(np.abs(realised - target) <= 0.005)  # half a percentage point, every source
    large = target >= 0.1
    assert np.all(np.abs(realised - target)[large] / target[large] <= 0.005)  # and half a percent of the share
    assert np.all(np.abs(realised * num_sequences - apportion(num_sequences, target)) <= 1 + len(shares) * target)


@pytest.mark.parametrize("num_draws", [0, 7, 40, 41, 100, 137])
def test_read_counts_are_the_times_draws_hit_each_window(num_draws):
    windows = SourceWindows(seed=5, source="wiki", num_windows=40)
    brute = np.bincount(windows.windows(np.arange(num_draws)), minlength=40)
    assert np.array_equal(windows.read_counts(num_draws), brute)
    assert brute.max() - brute.min() <= 1  # every window once per epoch, then part of the next


def test_document_reads_match_counting_every_token_read():
    rng = np.random.default_rng(3)
    seq_len = 16
    ends = np.cumsum(rng.integers(1, 60, size=200))  # document end offsets in one shard, EOS included
    num_windows = (int(ends[-1]) - 1) // seq_len
    windows = SourceWindows(seed=1, source="web", num_windows=num_windows)
    for num_draws in (num_windows // 2, num_windows, num_windows + 37):
        token_reads = np.zeros(int(ends[-1]), dtype=np.int64)
        for window in windows.windows(np.arange(num_draws)):
            token_reads[window * seq_len + 1:window * seq_len + seq_len + 1] += 1  # the window's targets
        starts = np.concatenate([[0], ends[:-1]])
        brute = np.array([token_reads[s:e].max() for s, e in zip(starts, ends)])
        assert np.array_equal(document_reads(ends, windows.read_counts(num_draws), seq_len), brute)


def test_the_documented_example_mixture_is_valid():
    mixture = load_mixture(REPO_ROOT / "mixtures" / "web-heavy.yaml")
    assert mixture.shares == pytest.approx({"web": 0.7, "wiki": 0.2, "books": 0.1})
    assert mixture.total_tokens == 2_000_000_000 and mixture.sources["wiki"].max_epochs == 4
