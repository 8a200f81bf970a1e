"""Tiny token datasets, mixtures and run configs for trainer tests: real files, real torch steps on CPU.

The synthetic source is learnable: each document counts up from a random start with a
random stride (mod 63), so a two-layer model quickly learns to predict it and the loss
falls within a few dozen steps. Token 63 is EOS.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from trainer.config import TrainConfig, load_train_config
from trainer.search.registry import add_inspect_view

VOCAB_SIZE, EOS = 64, 63


@pytest.fixture(autouse=True)
def one_thread():
    """Two cores are shared with other work: one intra-op thread keeps tests fast and bit-reproducible."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def search_folders_inspectable():
    """`inspect_path` knows search folders, as under `dataflow inspect` (the CLI adds their kind)."""
    add_inspect_view()


def counting_docs(count: int, seed: int, strides=(1, 2, 3)) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(count):
        length, start, stride = rng.integers(20, 60), rng.integers(0, 63), rng.choice(strides)
        docs.append(((start + stride * np.arange(length)) % 63, 3 * int(length)))  # 3 bytes of text per token
    return docs


def write_source(root: Path, name: str, *, seed: int = 0, strides=(1, 2, 3), train_docs=None,
                 tokenizer_text: str = "counting sequences mod 63, id 63 is EOS") -> Path:
    """A source folder with train/ and validation/ datasets, as `dataflow run tokenize` writes it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer.json").write_text(tokenizer_text)
    tokenizer = TokenizerInfo.from_file(root / "tokenizer.json")
    train_docs = counting_docs(200, seed, strides) if train_docs is None else train_docs
    for split, docs in (("train", train_docs), ("validation", counting_docs(40, seed + 1000, strides))):
        write_token_dataset(split_path(root, split), docs, source=name, split=split, tokenizer=tokenizer,
                            vocab_size=VOCAB_SIZE, eos_id=EOS, max_shard_tokens=4000)
    return root


def write_mixture(path: Path, sources: dict[str, tuple[Path, float]], *, seed: int = 0, max_epochs: float = 50) -> Path:
    path.write_text(yaml.safe_dump({
        "name": path.stem, "total_tokens": 100_000, "seq_len": 32, "seed": seed,
        "sources": {name: {"path": str(folder), "weight": weight, "max_epochs": max_epochs}
                    for name, (folder, weight) in sources.items()}}))
    return path


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tokens")
    return {"web": write_source(root / "web", "web", seed=1),
            "wiki": write_source(root / "wiki", "wiki", seed=2, strides=(5,))}


@pytest.fixture(scope="session")
def mixture_file(sources, tmp_path_factory) -> Path:
    return write_mixture(tmp_path_factory.mktemp("mixtures") / "web-heavy.yaml",
                         {"web": (sources["web"], 0.75), "wiki": (sources["wiki"], 0.25)})


def tiny_config(out_dir: Path, mixture: Path, **overrides) -> TrainConfig:
    """A run that takes well under a second per step on one CPU thread."""
    base = {
        "out_dir": str(out_dir), "max_steps": 8, "device": "cpu",
        "data": {"mixture": str(mixture), "batch_size": 4},
        "model": {"d_model": 32, "num_layers": 2, "num_heads": 2, "seq_len": 32},
        "optim": {"lr": 1e-2, "warmup_steps": 2},
        "eval": {"every_steps": 4, "num_sequences": 8, "batch_size": 8},
        "checkpoint": {"every_steps": 4, "keep_last": 2},
        "log": {"every_steps": 1, "tensorboard": False},
        "guard": {"min_history": 5},
    }
    path = out_dir.parent / f"{out_dir.name}.yaml"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(base))
    return load_train_config(path, overrides)
