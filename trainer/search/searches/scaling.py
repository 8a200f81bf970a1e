"""The scaling search: a grid of (model size × token budget) proxies on one mixture, fitted to L(N, D).

    dataflow search scaling --config search/scaling.yaml [--resume]

Every size is trained at every budget (and seed); the fit (`scaling_law.py`, Hoffmann et al.
2022 approach 3) uses the mean target over seeds per grid point, leaving out the `holdout`
points, which it then predicts. The summary gives the constants with bootstrap intervals,
loss against compute on the compute frontier, the compute-optimal (N, D) and tokens per
parameter for this data at the budgets asked, and the held-out prediction errors;
`dataflow search plan` reads it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from dataflow.config import PositiveFinite, load_config
from dataflow.errors import ConfigError
from trainer.search.engine.layout import SUMMARY
from trainer.search.engine.store import write_json
from trainer.search.fits.scaling_law import (
    bootstrap,
    check_grid,
    compute_frontier,
    fit_compute_law,
    fit_scaling_law,
    prediction_error,
)
from trainer.search.reports import law_plots
from trainer.search.searches.mixture_inputs import check_same_mixture_datasets
from trainer.search.searches.sweep import (Point, SweepConfig, failures, mean_over_seeds, point, run, scores,
                                          start, statuses)

log = logging.getLogger("trainer.search")


class ScalingConfig(SweepConfig):
    """A grid of model sizes and token budgets on one mixture, fitted to L(N, D) = E + A/N^α + B/D^β."""

    kind: Literal["scaling"] = "scaling"
    """Which search this file is for; `dataflow search status` reads it back from the folder's search.yaml."""
    tokens: list[Annotated[int, Field(gt=0)]] = Field(min_length=1)
    """Training-token budgets; every size is trained at each (rounded up to whole steps)."""
    holdout: list[str] = []
    """Grid points left out of the fit and predicted by it, as `SIZE@TOKENS` (e.g. `s3@65536`)."""
    bootstrap_samples: int = Field(default=200, gt=0)
    """Refits on runs resampled with replacement, for the 90% interval of every constant."""
    compute: list[PositiveFinite] = []
    """Budgets in FLOPs (C = 6·N·D) at which to report the compute-optimal N, D and tokens per parameter;
    empty: the grid's largest compute."""
    seed: int = 0
    """Seed of the bootstrap."""


def load_scaling_config(path: str | Path) -> ScalingConfig:
    return load_config(ScalingConfig, path)


def plan(config: ScalingConfig) -> list[Point]:
    return [point(config, size, tokens, seed, f"{size}-t{tokens}-s{seed}", labels=(f"{size}@{tokens}",))
            for size in config.sizes for tokens in config.tokens for seed in range(config.seeds)]


def run_scaling_search(config: ScalingConfig, resume: bool = False, retry_failed: bool = False) -> dict[str, Any]:
    store = start(config, resume, retry_failed)
    check_same_mixture_datasets(store.root, config.mixture, config.target, resume)
    points = plan(config)
    unknown = set(config.holdout) - {p.spec.labels[0] for p in points}
    if unknown:
        raise ConfigError(f"holdout: {', '.join(sorted(unknown))} not in the grid; name points as SIZE@TOKENS "
                          f"(e.g. {points[-1].spec.labels[0]})")
    fitted = list({p.spec.labels[0]: p for p in points if p.spec.labels[0] not in config.holdout}.values())
    check_grid(np.array([p.params for p in fitted]), np.array([p.tokens for p in fitted]))  # before any run
    run(store, config, points, "scaling grid")
    rows = scores(store, config)
    summary = summarise(config, points, rows)
    write_json(Path(config.out_dir) / SUMMARY, summary)
    law_plots.scaling(Path(config.out_dir), summary)
    return summary


def scaling_outcome(config: ScalingConfig, summary: dict[str, Any]) -> list[str]:
    """What `dataflow search scaling` prints at the end: the law, the compute-optimal sizes, the held-out errors."""
    law = summary["law"]
    return [f"L(N, D) = {law['E']:.4g} + {law['A']:.4g}/N^{law['alpha']:.4g} + {law['B']:.4g}/D^{law['beta']:.4g}",
            *[f"at {entry['compute']:.3g} FLOPs: N {entry['params']:.4g}, D {entry['tokens']:.4g}, "
              f"{entry['tokens_per_param']:.1f} tokens per parameter" for entry in summary["compute_optimal"]],
            *[f"held out {held['point']}: observed {held['observed']:.4f}, predicted {held['predicted']:.4f} "
              f"({held['relative_error']:+.2%})" for held in summary["holdout"]],
            f"report: dataflow inspect {config.out_dir}"]


def summarise(config: ScalingConfig, points: list[Point], rows: dict[str, dict]) -> dict[str, Any]:
    by_label = {p.spec.labels[0]: p for p in points}
    grouped = mean_over_seeds(points, rows, lambda p: p.spec.labels[0])
    grid = [{"point": label, "size": by_label[label].size, "params": by_label[label].params,
             "tokens": by_label[label].tokens, "compute": 6.0 * by_label[label].params * by_label[label].tokens,
             "loss": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
             "seeds": len(values), "held_out": label in config.holdout} for label, values in grouped.items()]
    fitted = [g for g in grid if not g["held_out"]]
    params, tokens, losses = (np.array([g[key] for g in fitted]) for key in ("params", "tokens", "loss"))
    law = fit_scaling_law(params, tokens, losses)
    intervals = bootstrap(params, tokens, losses, law, samples=config.bootstrap_samples, seed=config.seed)
    compute = np.array([g["compute"] for g in fitted])
    compute_law = fit_compute_law(compute, losses)
    budgets = config.compute or [float(compute.max())]
    return {
        "kind": "scaling", "name": config.name, "mixture": config.mixture, "target": config.target_weights,
        "runs": statuses(rows), "failures": failures(rows), "grid": grid,
        "law": law.as_dict(), "intervals": {name: list(bounds) for name, bounds in intervals.items()},
        "interval_level": 0.9,
        "compute_law": {"E": compute_law.E, "K": compute_law.K, "gamma": compute_law.gamma,
                        "frontier": [fitted[i]["point"] for i in compute_frontier(compute, losses)]},
        "compute_optimal": [{"compute": c, "params": float(law.optimal_params(c)),
                             "tokens": float(law.optimal_tokens(c)),
                             "tokens_per_param": law.tokens_per_param(c),
                             "loss": float(law.loss(law.optimal_params(c), law.optimal_tokens(c)))} for c in budgets],
        "holdout": [{"point": g["point"], **prediction_error(law, g["params"], g["tokens"], g["loss"])}
                    for g in grid if g["held_out"]],
    }
