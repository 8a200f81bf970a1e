"""A recommended run for a compute budget, from a scaling search (and a learning-rate search).

    dataflow search plan --compute 1e19 --scaling search/scaling [--hparams search/lr] [--mixture mix.yaml]

The scaling fit gives the compute-optimal (N, D) for fresh tokens; the mixture's sources,
at their sizes, say how many epochs of each that D implies. Where a source would be repeated,
the plan values repeats with Muennighoff et al.'s effective data (`data_constrained.py`) and
re-optimises N along C = 6·N·D, so the user sees how the recommendation moves once repeated
tokens are valued honestly. The preset is the one whose parameter count is nearest in
log-space, and the learning rate comes from the fitted rate law when a search gives one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from dataflow.errors import InputError
from dataflow.mix.mixture import load_mixture
from dataflow.shards import open_split
from trainer.config import load_train_config, preset_names
from trainer.search.engine.layout import SUMMARY
from trainer.search.fits.data_constrained import Allocation, constrained_optimum, fresh_optimum
from trainer.search.fits.lr_law import LrLaw
from trainer.search.fits.scaling_law import ScalingLaw
from trainer.search.searches.sweep import count_params


def read_summary(folder: Path, kind: str) -> dict[str, Any]:
    path = Path(folder) / SUMMARY
    if not path.is_file():
        raise InputError(f"{folder} has no summary.json; give the out_dir of a finished `dataflow search {kind}`")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if summary.get("kind") != kind:
        raise InputError(f"{folder} holds a {summary.get('kind', 'mixture')} search, not a {kind} search")
    return summary


def plan_compute(compute: float, scaling: Path, hparams: Path | None = None, mixture: str | None = None) -> dict[str,
                                                                                                                 Any]:
    fit = read_summary(scaling, "scaling")
    law = ScalingLaw(**fit["law"])
    lr_law = LrLaw(**read_summary(hparams, "hparams")["law"]) if hparams else None
    chosen = load_mixture(mixture or fit["mixture"])
    unique = {name: open_split(source.path, "train").num_tokens for name, source in chosen.sources.items()}
    presets = {name: count_params(load_train_config(None, {"preset": name, "out_dir": ".",
                                                           "data": {"mixture": "-"}}).model,
                                  chosen) for name in preset_names()}
    options = {"fresh tokens": fresh_optimum(law, compute, chosen.shares, unique),
               "data-constrained": constrained_optimum(law, compute, chosen.shares, unique)}
    return {"compute": compute, "mixture": chosen.name, "unique_tokens": unique, "weights": chosen.shares,
            "law": fit["law"], "plans": {label: _describe(a, presets, lr_law) for label, a in options.items()}}


def _describe(allocation: Allocation, presets: dict[str, int], lr_law: LrLaw | None) -> dict[str, Any]:
    preset = min(presets, key=lambda name: abs(np.log(presets[name] / allocation.params)))
    return {"params": allocation.params, "tokens": allocation.tokens,
            "tokens_per_param": allocation.tokens / allocation.params,
            "effective_tokens": allocation.effective_tokens, "predicted_target": allocation.predicted_loss,
            "epochs": allocation.epochs, "preset": preset, "preset_params": presets[preset],
            "lr": lr_law.lr(allocation.params) if lr_law else None}
