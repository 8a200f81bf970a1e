"""Learning-rate (and batch-size) sweeps at several model sizes, and the best rate as a law of size.

    dataflow search hparams --config search/lr.yaml [--resume]

Small proxies make hyper-parameters a cheap search too. Per size, either a grid (`lrs` ×
`batch_sizes`) or Optuna's TPE sampler (Akiba et al. 2019) over a log-uniform rate range.
Optuna trials are pruned the Hyperband way (Li et al. 2018): each trial first trains a short
rung run on `rung_fraction` of the tokens, and a trial whose rung is worse than the median of
the earlier trials' rungs (`MedianPruner`) is never trained in full. Trials are asked in
rounds as wide as the backend, for every size at once, and every run is a folder of part 1's store, so a resumed
search replays the same suggestions from the finished results and runs only what is left.
Per size the optimum is the vertex of loss against log(lr) (`lr_law.py`); across sizes it is
fitted as a power law and predicted for `predict_for`. With several batch sizes each size's
optimum is taken at its best batch size (the token budget is the same for all, so a larger
batch takes fewer steps), and the summary also gives the optimum rate at every batch size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from dataflow.config import PositiveFinite, load_config
from dataflow.mix.mixture import load_mixture
from trainer.config import load_train_config
from trainer.search.engine.layout import SUMMARY
from trainer.search.engine.store import RunStore, write_json
from trainer.search.fits.lr_law import SizeOptimum, fit_lr_law, size_optimum
from trainer.search.reports import law_plots
from trainer.search.searches.mixture_inputs import check_same_mixture_datasets
from trainer.search.searches.sweep import (Point, SweepConfig, count_params, failures, point, run, scores,
                                          start, statuses)


class HparamConfig(SweepConfig):
    """Learning-rate sweeps at several sizes on one mixture and token budget."""

    kind: Literal["hparams"] = "hparams"
    """Which search this file is for; `dataflow search status` reads it back from the folder's search.yaml."""
    tokens: int = Field(gt=0)
    """Training tokens of every full run."""
    sampler: Literal["grid", "optuna"] = "grid"
    """`grid` trains every (lr, batch size) pair; `optuna` samples rates with TPE and prunes hopeless trials."""
    lrs: list[PositiveFinite] = []
    """Grid: peak learning rates tried at every size (3 or more around the optimum)."""
    batch_sizes: list[int] = []
    """Grid: sequences per step tried with every rate; empty keeps the preset's. The token budget stays fixed."""
    trials: int = Field(default=8, gt=1)
    """Optuna: trials per size."""
    lr_range: tuple[PositiveFinite, PositiveFinite] = (1e-4, 3e-2)
    """Optuna: the log-uniform range of peak learning rates."""
    rung_fraction: float = Field(default=0.25, gt=0, lt=1)
    """Optuna: share of the tokens of a trial's rung run; its loss decides whether the trial is pruned."""
    predict_for: str | None = None
    """A preset (e.g. gpt-85m) whose learning rate the fitted law predicts."""
    seed: int = 0
    """Seed of the Optuna sampler."""

    @model_validator(mode="after")
    def _sweep_is_given(self) -> HparamConfig:
        if len(self.sizes) < 2:
            raise ValueError("sizes: a learning-rate law needs 2 or more sizes (3 or more to check it)")
        if self.sampler == "grid" and len(self.lrs) < 3:
            raise ValueError("lrs: a grid needs 3 or more learning rates to place an optimum between them")
        return self


def load_hparam_config(path: str | Path) -> HparamConfig:
    return load_config(HparamConfig, path)


def run_hparam_search(config: HparamConfig, resume: bool = False, retry_failed: bool = False) -> dict[str, Any]:
    store = start(config, resume, retry_failed)
    check_same_mixture_datasets(store.root, config.mixture, config.target, resume)
    trials = _grid(store, config) if config.sampler == "grid" else _optuna(store, config)
    summary = summarise(config, trials, scores(store, config))
    write_json(Path(config.out_dir) / SUMMARY, summary)
    law_plots.learning_rates(Path(config.out_dir), summary)
    return summary


def hparams_outcome(config: HparamConfig, summary: dict[str, Any]) -> list[str]:
    """What `dataflow search hparams` prints at the end: each size's best lr, the law, the preset's prediction."""
    lines = [f"{size} ({entry['params']:,} params): best lr {entry['optimum_lr']:.3g} at batch size "
             f"{entry['batch_size']}" + (" (at the sweep's edge: widen it)" if entry["at_edge"] else "")
             for size, entry in summary["sizes"].items()]
    if "law" in summary:
        lines.append(f"lr_opt = {summary['law']['coefficient']:.4g} * N^-{summary['law']['exponent']:.4g}")
    if "prediction" in summary:
        lines.append(f"{summary['prediction']['preset']}: lr {summary['prediction']['lr']:.3g}")
    return [*lines, f"report: dataflow inspect {config.out_dir}"]


def _trial(config: HparamConfig, size: str, tokens: int, lr: float, batch: int | None, run_id: str) -> Point:
    overrides: dict[str, Any] = {"optim": {"lr": lr}}
    if batch is not None:
        overrides["data"] = {"batch_size": batch}
    return point(config, size, tokens, 0, run_id, labels=(size,), overrides=overrides)


def _grid(store: RunStore, config: HparamConfig) -> list[dict[str, Any]]:
    points = [_trial(config, size, config.tokens, lr, batch, f"{size}-lr{lr:g}" + (f"-b{batch}" if batch else ""))
              for size in config.sizes for lr in config.lrs for batch in (config.batch_sizes or [None])]
    run(store, config, points, "learning-rate grid")
    return [{"size": p.size, "params": p.params, "run": p.spec.run_id, "lr": p.spec.train["optim"]["lr"],
             "batch_size": p.spec.train["data"]["batch_size"], "pruned": False} for p in points]


def _optuna(store: RunStore, config: HparamConfig) -> list[dict[str, Any]]:
    """Rounds of `workers` trials per size; all sizes' rungs run together, then their unpruned full runs."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    width = getattr(config.backend, "workers", None) or 1
    rung_tokens = max(1, round(config.rung_fraction * config.tokens))
    studies = {size: optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=config.seed),
                                         pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
               for size in config.sizes}
    trials = []
    while len(next(iter(studies.values())).trials) < config.trials:
        asked = [(size, study.ask()) for size, study in studies.items()
                 for _ in range(min(width, config.trials - len(study.trials)))]
        lrs = {(size, t.number): t.suggest_float("lr", *config.lr_range, log=True) for size, t in asked}
        rungs = {key: _trial(config, key[0], rung_tokens, lr, None, f"{key[0]}-t{key[1]:02d}-rung")
                 for key, lr in lrs.items()}
        run(store, config, list(rungs.values()), f"rungs of {len(rungs)} trials")
        rows = scores(store, config)
        survivors = []
        for size, trial in asked:
            rung = rows[rungs[size, trial.number].spec.run_id]["target"]
            if rung is None:
                studies[size].tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            trial.report(rung, step=rung_tokens)
            if trial.should_prune():
                studies[size].tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                survivors.append((size, trial))
        full = {(size, t.number): _trial(config, size, config.tokens, lrs[size, t.number], None,
                                         f"{size}-t{t.number:02d}")
                for size, t in survivors}
        run(store, config, list(full.values()), f"full runs of {len(full)} unpruned trials")
        rows = scores(store, config)
        for size, trial in survivors:
            value = rows[full[size, trial.number].spec.run_id]["target"]
            if value is None:
                studies[size].tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                studies[size].tell(trial, value)
        for key, lr in lrs.items():
            chosen = full.get(key, rungs[key])
            trials.append({"size": key[0], "params": chosen.params, "run": chosen.spec.run_id, "lr": lr,
                           "batch_size": chosen.spec.train["data"]["batch_size"], "pruned": key not in full})
    return trials


def summarise(config: HparamConfig, trials: list[dict[str, Any]], rows: dict[str, dict]) -> dict[str, Any]:
    """Per size: the rate optimum at each batch size, and the size's optimum at its best batch size
    (the one whose best run has the lowest target), which the rate law is fitted on."""
    sizes, optima = {}, []
    for size in config.sizes:
        mine = [{**t, "loss": rows[t["run"]]["target"] if rows[t["run"]]["status"] == "done" else None}
                for t in trials if t["size"] == size]
        finished = [t for t in mine if t["loss"] is not None and not t["pruned"]]
        if not finished:
            continue
        per_batch = {batch: _batch_optimum(mine[0]["params"], [t for t in finished if t["batch_size"] == batch])
                     for batch in sorted({t["batch_size"] for t in finished})}
        batch, optimum = min(per_batch.items(), key=lambda item: item[1].loss)
        optima.append(optimum)
        best = min(finished, key=lambda t: t["loss"])
        sizes[size] = {"params": optimum.params, "optimum_lr": optimum.lr, "best_loss": optimum.loss,
                       "at_edge": optimum.at_edge, "batch_size": batch,
                       "best_run": {key: best[key] for key in ("run", "lr", "batch_size", "loss")},
                       "per_batch_size": {str(b): {"optimum_lr": o.lr, "best_loss": o.loss, "at_edge": o.at_edge}
                                          for b, o in per_batch.items()},
                       "pruned": sum(t["pruned"] for t in mine), "trials": mine}
    summary = {"kind": "hparams", "name": config.name, "mixture": config.mixture, "target": config.target_weights,
               "sampler": config.sampler, "tokens": config.tokens, "runs": statuses(rows), "failures": failures(rows),
               "sizes": sizes}
    if len(optima) >= 2:
        law = fit_lr_law(optima)
        summary["law"] = {"coefficient": law.coefficient, "exponent": law.exponent}
        for entry in sizes.values():
            entry["law_lr"] = law.lr(entry["params"])
        if config.predict_for:
            probe = load_train_config(None, {"preset": config.predict_for, "out_dir": ".", "data": {"mixture": "-"}})
            params = count_params(probe.model, load_mixture(config.mixture))
            summary["prediction"] = {"preset": config.predict_for, "params": params, "lr": law.lr(params),
                                     "preset_lr": probe.optim.lr}
    return summary


def _batch_optimum(params: int, finished: list[dict[str, Any]]) -> SizeOptimum:
    """The rate optimum of one size at one batch size, over the best target seen at each rate."""
    best_per_lr: dict[float, float] = {}
    for t in finished:
        best_per_lr[t["lr"]] = min(best_per_lr.get(t["lr"], float("inf")), t["loss"])
    lrs = sorted(best_per_lr)
    return size_optimum(params, lrs, [best_per_lr[lr] for lr in lrs])
