"""Validation loss and bits-per-byte per source, on a fixed set of windows.

Loss per token depends on the tokenizer; bits per UTF-8 byte of the source text does not, so
runs with different tokenizers or mixtures compare on it (The Pile, Gao et al. 2020):

    bpb = total nats / ln(2) / total UTF-8 bytes

The bytes of the evaluated tokens are their count times the split's bytes per token, from
the manifest's per-shard byte counts (`TokenDataset.text_bytes / num_tokens`). Each source's
eval set is `num_sequences` windows spread evenly over its validation split, fixed by the
split and `seq_len` alone, so every run that shares them is scored on the same tokens
whatever its seed, mixture or number of ranks.

Every score carries its standard error over those windows. A window's bytes are its tokens times
the split's bytes per token, the same for every window, so the ratio estimator of bpb (total nats
over total bytes) is the mean of the per-window bpb, and its standard error is the sample std of
the per-window bpb over sqrt(windows): the ratio estimator's SE with constant denominators. It
treats the windows as independent draws from the split's text; neighbouring windows of one
document are somewhat alike, so it is a slight underestimate when the windows are contiguous.
It measures how far the score could move on other text like the split's, not seed noise: runs
scored on the same windows share this error, so differences between them are known better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from pydantic import Field

from dataflow.config import StrictModel
from dataflow.errors import ConfigError, InputError
from dataflow.shards import MANIFEST, TokenDataset, open_split
from trainer.parallel import autocast


class EvalConfig(StrictModel):
    """How often and on how much the model is validated."""

    every_steps: int = Field(default=100, ge=0)
    """Evaluate every this many steps (and at the first and last); 0 evaluates only at the last step."""
    num_sequences: int = Field(default=64, gt=0)
    """Windows of seq_len + 1 tokens per source (fewer when a validation split is smaller)."""
    sequences: dict[str, int] = {}
    """Windows for the named datasets (sources or `datasets` entries) instead of num_sequences: a search
    scores its target on enough windows for a small standard error, the other sources on few."""
    batch_size: int = Field(default=8, gt=0)
    """Sequences per forward pass on each rank."""
    datasets: dict[str, str] = {}
    """Held-out token datasets scored besides the sources' validation splits, by name: a token dataset
    folder, or a source folder (its validation split). A search's target (WikiText-2 test) comes in here."""


def open_eval_datasets(paths: dict[str, str], taken: set[str]) -> dict[str, TokenDataset]:
    """The `eval.datasets` opened; a name already used by a mixture source is refused."""
    datasets = {}
    for name, path in paths.items():
        if name in taken:
            raise ConfigError(f"eval.datasets.{name}: the name is a source of the mixture, whose validation split "
                              "is already scored; give the dataset another name")
        datasets[name] = (TokenDataset.open(path) if (Path(path) / MANIFEST).is_file()
                          else open_split(path, "validation"))
    return datasets


def bits_per_byte(nats: float, num_tokens: int, bytes_per_token: float) -> float:
    """Bits per UTF-8 byte of `num_tokens` predicted tokens that cost `nats` in total."""
    return nats / math.log(2) / (num_tokens * bytes_per_token)


def standard_error(window_nats: np.ndarray, tokens_per_window: int, bytes_per_token: float) -> float:
    """Standard error of the bits-per-byte of windows of equal length that cost `window_nats` each
    (the module docstring says why this is the ratio estimator's); 0 for a single window."""
    if len(window_nats) < 2:
        return 0.0
    per_window = window_nats / math.log(2) / (tokens_per_window * bytes_per_token)
    return float(np.std(per_window, ddof=1) / math.sqrt(len(per_window)))


@dataclass(frozen=True)
class SourceEval:
    loss: float
    """Mean cross-entropy per predicted token, in nats."""
    bits_per_byte: float
    """Bits per UTF-8 byte of source text."""
    num_tokens: int
    """Predicted tokens evaluated."""
    bits_per_byte_se: float
    """Standard error of bits_per_byte over the evaluation windows."""


class Evaluator:
    def __init__(self, datasets: dict[str, TokenDataset], *, seq_len: int, config: EvalConfig,
                 rank: int = 0, world_size: int = 1):
        self.datasets, self.seq_len, self.config = datasets, seq_len, config
        self.rank, self.world_size = rank, world_size
        self.windows = {}
        for name, dataset in datasets.items():
            count = dataset.num_windows(seq_len)
            if count == 0:
                raise InputError(f"validation split of source '{name}' ({dataset.path}) has no shard of more "
                                 f"than seq_len + 1 = {seq_len + 1} tokens; write a larger validation split")
            wanted = min(config.sequences.get(name, config.num_sequences), count)
            self.windows[name] = np.unique(np.linspace(0, count - 1, wanted).round().astype(np.int64))

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, device: torch.device, bf16: bool) -> dict[str, SourceEval]:
        was_training = model.training
        model.eval()
        results = {name: self._source(model, name, device, bf16) for name in self.datasets}
        model.train(was_training)
        return results

    def _source(self, model: torch.nn.Module, name: str, device: torch.device, bf16: bool) -> SourceEval:
        # Every rank runs the same number of forward passes (FSDP gathers weights collectively):
        # short ranks pad with a repeated window that weighs zero.
        windows = self.windows[name]
        per_rank = math.ceil(len(windows) / self.world_size)
        mine = windows[self.rank::self.world_size]
        slots = np.arange(self.rank, len(windows), self.world_size)  # where this rank's windows go in the total
        mine = np.concatenate([mine, np.full(per_rank - len(mine), windows[0])])
        window_nats = torch.zeros(len(windows), dtype=torch.float64, device=device)
        for start in range(0, per_rank, self.config.batch_size):
            chosen = mine[start:start + self.config.batch_size]
            rows = torch.from_numpy(self.datasets[name].read_windows(chosen, self.seq_len)).to(device)
            with autocast(model, device, bf16):
                logits = model(rows[:, :-1])  # (B, T, V)
            nats = F.cross_entropy(logits.float().flatten(0, 1), rows[:, 1:].flatten(), reduction="none")
            real = slots[start:start + len(rows)]  # padding rows have no slot and weigh nothing
            window_nats[torch.from_numpy(real).to(device)] = nats.view(len(rows), -1).double().sum(1)[:len(real)]
        if dist.is_initialized():
            dist.all_reduce(window_nats)
        per_window = window_nats.cpu().numpy()
        nats, num_tokens = float(per_window.sum()), len(windows) * self.seq_len
        dataset = self.datasets[name]
        bytes_per_token = dataset.text_bytes / dataset.num_tokens
        return SourceEval(loss=nats / num_tokens, num_tokens=num_tokens,
                          bits_per_byte=bits_per_byte(nats, num_tokens, bytes_per_token),
                          bits_per_byte_se=standard_error(per_window, self.seq_len, bytes_per_token))
