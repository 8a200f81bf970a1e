"""Search files by `kind`: load one as its own config model, run it, or read back a folder's search.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.config import StrictModel, load_config, load_yaml, validate_config


def _kinds() -> dict[str, tuple[type[StrictModel], Any]]:
    """kind -> (config model, run function); imported on use, as the CLI's commands import their work."""
    from trainer.search.searches.hparams import HparamConfig, run_hparam_search
    from trainer.search.searches.mixture import run_mixture_search
    from trainer.search.searches.mixture_config import SearchConfig
    from trainer.search.searches.scaling import ScalingConfig, run_scaling_search
    from trainer.search.searches.variants import VariantConfig, run_variant_search

    return {"mixture": (SearchConfig, run_mixture_search), "scaling": (ScalingConfig, run_scaling_search),
            "variants": (VariantConfig, run_variant_search), "hparams": (HparamConfig, run_hparam_search)}


def load_search_as(path: str | Path, kind: str) -> StrictModel:
    return load_config(_kinds()[kind][0], path)


def run_search(search: StrictModel, resume: bool, retry_failed: bool = False) -> dict[str, Any]:
    kind = getattr(search, "kind", "mixture")
    return _kinds()[kind][1](search, resume=resume, retry_failed=retry_failed)


def load_any_search(path: str | Path) -> StrictModel:
    """The search file at `path` as its own config model; files without `kind` are mixture searches."""
    data = load_yaml(path)
    return validate_config(_kinds()[data.get("kind", "mixture")][0], data, str(path))
