"""Training sequences drawn on the fly from a mixture of token datasets.

The mixed stream is a sequence of windows (`seq_len + 1` tokens, `TokenDataset.read_windows`)
numbered 0, 1, 2, ... across all ranks. `dataflow.mix.mixture.MixedStream` says which source
window n comes from and which draw of that source it is, and turns the draw into a window of
the source, one seeded permutation per epoch; the Spark `mix` job writes the same stream to
shards. So the weights apply at sample time (a new mixture needs no re-tokenisation), the
stream is fixed by the mixture's seed, and the loader's whole state is one integer: the
position in the stream.

Rank r of W reads windows n = r, r + W, r + 2W, ...: the ranks read disjoint parts, and
together one step reads the same windows whatever W is, so a run with 2 ranks of batch B
sees what a run with 1 rank of batch 2B sees (tests/trainer/test_ddp.py).

Since a batch is a pure function of the position, the next one is prepared in a background
thread while the model trains on the current one (nanoGPT prefetches the same way, by
fetching during the forward pass), keyed by its position so it never changes the state.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import Field

from dataflow.config import StrictModel
from dataflow.errors import ConfigError
from dataflow.mix.mixture import MixedStream
from dataflow.shards import TokenDataset


class DataConfig(StrictModel):
    """What to train on and how much of it per step."""

    mixture: str
    """Mixture file (YAML, `dataflow/mix/mixture.py`) naming the token-dataset sources and their weights."""
    batch_size: int = Field(default=8, gt=0)
    """Sequences per micro-batch on each rank."""
    grad_accum_steps: int = Field(default=1, gt=0)
    """Micro-batches per optimizer step; tokens per step = batch_size * grad_accum_steps * ranks * seq_len."""
    record_reads: bool = False
    """Debug: every rank appends the stream positions and a sha256 of the targets of each micro-batch it
    trains on to `out_dir/reads-rank<R>.jsonl`, a witness to check `dataflow inspect run --step` against."""


@dataclass(frozen=True)
class Batch:
    inputs: torch.Tensor
    """Token ids (B, T), int64."""
    targets: torch.Tensor
    """The next token of each input (B, T), int64."""


class MixtureLoader:
    """Micro-batches of this rank's share of the mixed stream; Stateful (`state_dict`)."""

    def __init__(self, datasets: dict[str, TokenDataset], shares: dict[str, float], *, seq_len: int,
                 batch_size: int, seed: int, rank: int = 0, world_size: int = 1, pin_memory: bool = False):
        self.shares, self.seed = shares, seed
        self.names = list(shares)
        self.seq_len, self.batch_size = seq_len, batch_size
        self.rank, self.world_size, self.pin_memory = rank, world_size, pin_memory
        self.stream = MixedStream(datasets, shares, seq_len=seq_len, seed=seed)
        self.num_windows = self.stream.num_windows
        self.position = 0
        """Windows of the stream drawn so far, by all ranks together."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixture-loader")
        self._ahead: tuple[int, Future] | None = None

    def next_batch(self) -> Batch:
        """This rank's next micro-batch; the one after it is prepared meanwhile."""
        batch = None
        if self._ahead is not None:
            position, future = self._ahead
            prepared = future.result()  # waited for even when unused: one thread at a time touches the cache
            batch = prepared if position == self.position else None
        if batch is None:
            batch = self._batch_at(self.position)
        self.position += self.batch_size * self.world_size
        self._ahead = (self.position, self._worker.submit(self._batch_at, self.position))
        return batch

    def rank_positions(self, start: int) -> range:
        """The stream positions of this rank's rows in the micro-batch that starts at `start`."""
        return range(start + self.rank, start + self.batch_size * self.world_size, self.world_size)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def _batch_at(self, start: int) -> Batch:
        stop = start + self.batch_size * self.world_size
        sources, draws = self.stream.schedule.draws(start, stop)
        rows = self.stream.read(sources[self.rank::self.world_size], draws[self.rank::self.world_size])
        tokens = torch.from_numpy(rows)
        if self.pin_memory:
            tokens = tokens.pin_memory()  # so the copy to the GPU can overlap compute
        return Batch(inputs=tokens[:, :-1], targets=tokens[:, 1:])

    def tokens_per_source(self, position: int | None = None) -> dict[str, int]:
        """Target tokens drawn from each source by all ranks before `position` (default: now)."""
        counts = self.stream.schedule.counts(self.position if position is None else position)
        return {name: int(count) * self.seq_len for name, count in zip(self.names, counts)}

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position, "seed": self.seed, "seq_len": self.seq_len,
                "shares": dict(self.shares), "tokens_per_source": self.tokens_per_source()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the stream where `state` left it; refuse a stream drawn with other settings."""
        drawn_with = {key: state[key] for key in ("seed", "seq_len", "shares")}
        mine = {"seed": self.seed, "seq_len": self.seq_len, "shares": dict(self.shares)}
        if drawn_with != mine:
            raise ConfigError(f"the checkpoint's data stream was drawn with {drawn_with}, this run has {mine}; "
                              "resume with the same mixture, or start a new run from the checkpoint "
                              "with checkpoint.init_from to change it")
        self.position = state["position"]
