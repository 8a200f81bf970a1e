"""Three small token sources and a search file over them, for the search tests: real files, real proxies.

The sources count with different strides (conftest.counting_docs), so which mixture predicts
the target best is learnable; the proxy is a 2-layer d_model-32 GPT trained for a few steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conftest import write_source

STRIDES = {"web": (1, 2, 3), "wiki": (5,), "books": (7, 11)}
PROXY_TRAIN = {"model": {"d_model": 32, "num_layers": 2, "num_heads": 2, "seq_len": 32}, "data": {"batch_size": 4},
               "optim": {"lr": 1e-2, "warmup_steps": 2}, "eval": {"every_steps": 0, "num_sequences": 8},
               "checkpoint": {"every_steps": 4}, "log": {"every_steps": 4, "tensorboard": False},
               "device": "cpu"}


def write_sources(root: Path) -> dict[str, Path]:
    return {name: write_source(root / name, name, seed=index, strides=strides)
            for index, (name, strides) in enumerate(STRIDES.items())}


def search_file(path: Path, sources: dict[str, Path], out_dir: Path, **overrides: Any) -> Path:
    """A 6-candidate search on the local backend (2 workers), 8 proxy steps of 128 tokens; `overrides`
    replace top-level keys."""
    config = {"name": "t", "out_dir": str(out_dir),
              "sources": {name: {"path": str(folder), "max_epochs": 3} for name, folder in sources.items()},
              "target": {"wiki": 0.5, "books": 0.5}, "final_run": {"total_tokens": 40_000},
              "proxy": {"preset": "tiny", "total_tokens": 1024, "confirm_seeds": 2, "train": PROXY_TRAIN},
              "candidates": 6, "backend": {"kind": "local", "workers": 2}, "fit": {"surface_samples": 5000}}
    path.write_text(yaml.safe_dump({**config, **overrides}))
    return path
