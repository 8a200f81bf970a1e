"""A mixture over the search test sources and the config of a search over model sizes on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from search_sources import PROXY_TRAIN

SIZES = {"s16": {"model": {"d_model": 16}}, "s32": {"model": {"d_model": 32}}}
"""Two widths of the search tests' 2-layer proxy (128 tokens per step)."""


def mixture_file(path: Path, sources: dict[str, Path], weights: dict[str, float] | None = None) -> Path:
    weights = weights or {"web": 0.5, "wiki": 0.25, "books": 0.25}
    path.write_text(yaml.safe_dump({"name": path.stem, "total_tokens": 4096, "seq_len": 32, "sources": {
        name: {"path": str(sources[name]), "weight": weight, "max_epochs": 8} for name, weight in weights.items()}}))
    return path


def sweep_file(path: Path, mixture: Path, out_dir: Path, **fields: Any) -> Path:
    """A search file on the local backend (2 workers), scored on the wiki and books validation splits."""
    config = {"name": "t", "out_dir": str(out_dir), "mixture": str(mixture), "target": {"wiki": 0.5, "books": 0.5},
              "train": PROXY_TRAIN, "sizes": SIZES, "backend": {"kind": "local", "workers": 2}, **fields}
    path.write_text(yaml.safe_dump(config))
    return path
