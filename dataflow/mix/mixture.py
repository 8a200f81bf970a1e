"""Mixture maths: the one place that turns a mixture file into per-source tokens and draws.

A mixture (YAML, `load_mixture`) names token-dataset sources with weights, a token budget
and a cap on repetition per source:

    name: web-heavy
    total_tokens: 2_000_000_000
    seq_len: 2048
    seed: 1234
    sources:
      web:   {path: tokens/web,   weight: 0.7, max_epochs: 1}
      wiki:  {path: tokens/wiki,  weight: 0.2, max_epochs: 4}
      books: {path: tokens/books, weight: 0.1, max_epochs: 2}

Weights are shares of *tokens* (normalised when they do not sum to 1). `plan_mixture` gives
each source its tokens and implied epochs and refuses a mixture that repeats a source more
than its `max_epochs`. `SourceSchedule` decides which source each sequence of the mixed
stream comes from, `SourceWindows` (with `window_order`) which window of that source, and
`MixedStream` puts them together, so the Spark `mix` job and the trainer's on-the-fly sampler
draw the same stream from the same seed.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field, model_validator

from dataflow.config import PositiveFinite, StrictModel, load_config
from dataflow.errors import ConfigError, InputError
from dataflow.object_store import is_store
from dataflow.shards import Split, TokenDataset, open_split


class SourceSpec(StrictModel):
    """One source of a mixture."""

    path: str
    """Source folder written by `dataflow run tokenize`, holding `train/` and `validation/` token datasets."""
    weight: PositiveFinite
    """Share of the mixture's tokens, relative to the other weights (normalised to sum to 1)."""
    max_epochs: float = Field(default=1.0, gt=0)
    """Most passes over this source's training tokens the budget may take before the mixture is refused."""


class Mixture(StrictModel):
    """A data mixture: sources, their token shares, a budget and a seed."""

    name: str
    """Name of the mixture, used in run names and reports."""
    total_tokens: int = Field(gt=0)
    """Training tokens the mixture provides; the epochs per source are computed against it."""
    seq_len: int = Field(default=2048, gt=0)
    """Tokens per sequence of the mixed output (each sequence is drawn as `seq_len + 1` tokens)."""
    seed: int = 0
    """Seed of every sampling decision: same seed and sources, same token stream."""
    sources: dict[str, SourceSpec] = Field(min_length=1)
    """The sources by name."""

    @model_validator(mode="after")
    def _warn_when_weights_are_normalised(self) -> Mixture:
        total = sum(spec.weight for spec in self.sources.values())
        if not math.isclose(total, 1.0, rel_tol=1e-9):
            shares = ", ".join(f"{name} {share:.4g}" for name, share in self.shares.items())
            warnings.warn(f"mixture {self.name}: weights sum to {total:g}, not 1; using shares {shares}", stacklevel=2)
        return self

    @property
    def shares(self) -> dict[str, float]:
        """Weights normalised to sum to 1: the share of tokens each source provides."""
        total = sum(spec.weight for spec in self.sources.values())
        return {name: spec.weight / total for name, spec in self.sources.items()}


def load_mixture(path: str | Path) -> Mixture:
    return load_config(Mixture, path)


def open_sources(mixture: Mixture, split: Split) -> dict[str, TokenDataset]:
    """Open one split of every source, naming the source when its path is wrong."""
    datasets = {}
    for name, spec in mixture.sources.items():
        if not is_store(spec.path) and not Path(spec.path).is_dir():  # a store's is checked by its manifest
            raise ConfigError(f"mixture {mixture.name}: source '{name}' path {spec.path} does not exist; "
                              "point it at a folder written by `dataflow run tokenize`")
        try:
            datasets[name] = open_split(spec.path, split)
        except InputError as err:
            raise InputError(f"mixture {mixture.name}, source '{name}': {err}") from None
    return datasets


@dataclass(frozen=True)
class SourcePlan:
    """What a mixture takes from one source."""

    share: float
    """Normalised weight: the share of the budget's tokens."""
    available_tokens: int
    """Training tokens the source holds."""
    tokens: int
    """Tokens taken from the source; the plan's tokens sum to the budget exactly."""
    epochs: float
    """Passes over the source those tokens imply (`tokens / available_tokens`)."""


def plan_mixture(mixture: Mixture, available_tokens: Mapping[str, int],
                 total_tokens: int | None = None) -> dict[str, SourcePlan]:
    """Tokens and epochs per source for a budget (the mixture's `total_tokens` unless given).

    Refuses, naming the source, a plan that needs more than `max_epochs` passes over it.
    """
    budget = mixture.total_tokens if total_tokens is None else total_tokens
    names = list(mixture.sources)
    shares = np.array([mixture.shares[name] for name in names])
    tokens = apportion(budget, shares)
    plan = {}
    for name, share, taken in zip(names, shares, tokens):
        spec, available = mixture.sources[name], available_tokens[name]
        epochs = taken / available if available else math.inf
        if epochs > spec.max_epochs:
            raise ConfigError(
                f"mixture {mixture.name}: source '{name}' would be read {epochs:.3g} times ({int(taken):,} of "
                f"{available:,} tokens for share {share:.3g} of {budget:,}), above its max_epochs "
                f"{spec.max_epochs:g}; lower its weight or the budget, or raise max_epochs")
        plan[name] = SourcePlan(share=float(share), available_tokens=available, tokens=int(taken), epochs=epochs)
    return plan


def share_limits(available_tokens: Mapping[str, int], max_epochs: Mapping[str, float],
                 total_tokens: int) -> dict[str, float]:
    """The largest share of `total_tokens` each source can supply within its `max_epochs`.

    A share p of a budget T reads p * T tokens, i.e. p * T / available epochs, so the limit
    is max_epochs * available / T (capped at 1). The feasible mixtures are the simplex cut
    by these upper bounds, a convex set: averages of feasible mixtures stay feasible. With
    20B final tokens, a 1B-token source at max_epochs 4 may take at most 20% of the mix.
    """
    return {name: min(1.0, max_epochs[name] * available_tokens[name] / total_tokens) for name in available_tokens}


def epochs_at(shares: Mapping[str, float], available_tokens: Mapping[str, int], total_tokens: int) -> dict[str, float]:
    """Passes over each source that `shares` of `total_tokens` imply."""
    return {name: share * total_tokens / available_tokens[name] if available_tokens[name] else math.inf
            for name, share in shares.items()}


def apportion(total: int, shares: np.ndarray) -> np.ndarray:
    """Split `total` into integers proportional to `shares` (largest remainder; ties to the first)."""
    quotas = shares * total
    counts = np.floor(quotas).astype(np.int64)
    leftover = total - int(counts.sum())
    counts[np.argsort(counts - quotas, kind="stable")[:leftover]] += 1
    return counts


class SourceSchedule:
    """Which source each sequence of the mixed stream comes from, as a pure function of position.

    Jittered (stratified) sampling: source s, with share p_s, emits its k-th sequence at
    time (k + u_sk) / p_s, with u_sk uniform in [0, 1) drawn from (seed, source, k); the
    stream takes sequences in order of emission time. Source s emits exactly one sequence
    in every slot of length 1/p_s: by time t it has supplied p_s * t within one, and the
    n-th sequence is emitted within K of time n (K sources), so among the first n sequences
    it supplies p_s * n within 1 + K * p_s, at every n. The realised shares converge at rate
    1/n, not a multinomial's 1/sqrt(n), while the order stays random. Nothing is carried from one call to the next,
    so a reader at any position (a resumed run, one rank of many, one Spark task) needs
    only that position.
    """

    def __init__(self, shares: Mapping[str, float], seed: int):
        self.names = list(shares)
        self.shares = np.array([shares[name] for name in self.names], dtype=np.float64)
        self.keys = [stream_key(seed, name) for name in self.names]

    def draws(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """For positions start..stop-1: the source index and that source's draw number (0, 1, ...)."""
        sources, ordinals, first_rank, _ = self._arrivals(start, stop)
        return sources[start - first_rank:stop - first_rank], ordinals[start - first_rank:stop - first_rank]

    def counts(self, position: int) -> np.ndarray:
        """Sequences each source supplied before `position`."""
        sources, _, first_rank, before = self._arrivals(position, position)
        return before + np.bincount(sources[:position - first_rank], minlength=len(self.names))

    def _arrivals(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """Arrivals with time in [t0, t1), in stream order, covering ranks start..stop-1.

        At time t there have been between t - K and t + K arrivals (K sources), so
        t0 = start - K - 1 and t1 = stop + K + 1 bracket the ranks. Returns the arrivals'
        sources and draw numbers, the rank of the first, and each source's count before t0.
        """
        t0 = max(0.0, start - len(self.names) - 1.0)
        t1 = stop + len(self.names) + 1.0
        sources, ordinals, times, before = [], [], [], []
        for index, (share, key) in enumerate(zip(self.shares, self.keys)):
            k = np.arange(max(0, math.floor(share * t0) - 1), math.floor(share * t1) + 2, dtype=np.int64)
            time = (k + uniform(key, k)) / share
            before.append(k[0] + int(np.count_nonzero(time < t0)))  # time rises with k
            inside = (time >= t0) & (time < t1)
            sources.append(np.full(int(inside.sum()), index))
            ordinals.append(k[inside])
            times.append(time[inside])
        sources, ordinals, times = map(np.concatenate, (sources, ordinals, times))
        order = np.lexsort((ordinals, sources, times))
        return sources[order], ordinals[order], sum(before), np.array(before, dtype=np.int64)


class SourceWindows:
    """Which window of one source each of its draws reads: draw d is window d mod W of epoch d // W.

    Epoch e reads the W windows in `window_order(seed, source, e)`, so the first W draws read
    every window once before any repeats. The current epoch's order is cached (a source is read
    front to back), older ones are dropped: memory is one permutation of W per source.
    """

    def __init__(self, seed: int, source: str, num_windows: int):
        self.seed, self.source, self.num_windows = seed, source, num_windows
        self._orders: dict[int, np.ndarray] = {}

    def windows(self, draws: np.ndarray) -> np.ndarray:
        """Window ids of draws (draw numbers of this source, any order)."""
        epochs, offsets = np.divmod(np.asarray(draws, dtype=np.int64), self.num_windows)
        out = np.empty(len(offsets), dtype=np.int64)
        for epoch in np.unique(epochs).tolist():
            mine = epochs == epoch
            out[mine] = self.order(epoch)[offsets[mine]]
        return out

    def order(self, epoch: int) -> np.ndarray:
        if epoch not in self._orders:
            for older in [key for key in self._orders if key < epoch]:
                del self._orders[older]
            self._orders[epoch] = window_order(self.seed, self.source, epoch, self.num_windows)
        return self._orders[epoch]

    def read_counts(self, num_draws: int) -> np.ndarray:
        """How often each window is read by draws 0..num_draws-1: every window once per full epoch,
        plus once for those the last, partial epoch reaches."""
        full, rest = divmod(num_draws, self.num_windows)
        counts = np.full(self.num_windows, full, dtype=np.int64)
        counts[self.order(full)[:rest]] += 1
        return counts


class MixedStream:
    """The mixed token stream: sequence n is a window of `seq_len + 1` tokens from the source
    `SourceSchedule` picks for position n, the window `SourceWindows` picks for that draw.

    One definition for every reader: the trainer's loader samples it on the fly (ranks take
    interleaved positions) and the Spark `mix` job writes positions 0..N-1 to shards, so both
    see the same sequences for the same mixture and seed.
    """

    def __init__(self, datasets: Mapping[str, TokenDataset], shares: Mapping[str, float], *, seq_len: int, seed: int):
        self.names = list(shares)
        self.datasets, self.seq_len, self.seed = datasets, seq_len, seed
        self.schedule = SourceSchedule(shares, seed)
        self.sources = {}
        for name in self.names:
            count = datasets[name].num_windows(seq_len)
            if count == 0:
                raise InputError(f"source '{name}' ({datasets[name].path}) has no shard of more than "
                                 f"seq_len + 1 = {seq_len + 1} tokens; use longer shards or a shorter seq_len")
            self.sources[name] = SourceWindows(seed, name, count)

    @property
    def num_windows(self) -> dict[str, int]:
        return {name: windows.num_windows for name, windows in self.sources.items()}

    def sequences(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions start..stop-1: the tokens (stop - start, seq_len + 1) and each row's source index."""
        sources, draws = self.schedule.draws(start, stop)
        return self.read(sources, draws), sources

    def read(self, sources: np.ndarray, draws: np.ndarray) -> np.ndarray:
        """The windows of (source index, draw number) pairs as int64 rows of seq_len + 1 tokens."""
        rows = np.empty((len(sources), self.seq_len + 1), dtype=np.int64)
        for index in np.unique(sources).tolist():
            name, mine = self.names[index], sources == index
            rows[mine] = self.datasets[name].read_windows(self.sources[name].windows(draws[mine]), self.seq_len)
        return rows


    def places(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions start..stop-1: each one's source index, shard (its place in that source's manifest)
        and first token in the shard; what `dataflow/mix/provenance.py` maps back to documents."""
        sources, draws = self.schedule.draws(start, stop)
        shards, starts = np.empty(len(sources), dtype=np.int64), np.empty(len(sources), dtype=np.int64)
        for index in np.unique(sources).tolist():
            name, mine = self.names[index], sources == index
            windows = self.sources[name].windows(draws[mine])
            shards[mine], starts[mine] = self.datasets[name].window_places(windows, self.seq_len)
        return sources, shards, starts


def open_stream(mixture: Mixture, seq_len: int | None = None) -> MixedStream:
    """The mixed stream over the mixture's training datasets, at `seq_len` (default: the mixture's)."""
    return MixedStream(open_sources(mixture, "train"), mixture.shares, seq_len=seq_len or mixture.seq_len,
                       seed=mixture.seed)


def window_order(seed: int, source: str, epoch: int, num_windows: int) -> np.ndarray:
    """The order in which one epoch reads a source's windows: a seeded permutation (numpy PCG64).

    Each epoch reads every window once, in its own order, so `max_epochs` counts real
    repetitions. (numpy does not promise the same permutation across major versions; it is
    pinned in pyproject.toml.)
    """
    return np.random.default_rng([stream_key(seed, source), epoch]).permutation(num_windows)


def stream_key(seed: int, source: str) -> int:
    """A 64-bit key per (seed, source name): adding or renaming a source leaves the others' draws."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{source}".encode()).digest()[:8], "little")


def uniform(key: int, counters: np.ndarray) -> np.ndarray:
    """Counter-based uniforms in [0, 1): splitmix64 (Steele et al. 2014) of key + golden * counter."""
    z = np.uint64(key) + (counters.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
