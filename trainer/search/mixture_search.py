"""The data-constraint search: which mixture of these sources, at their sizes, trains the best model
for the final run's budget (RegMix, Liu et al. 2024, with the budget's repetition limits added).

    dataflow search mixture --config search/mix.yaml [--resume]

1. Check the inputs (`inputs.py`) and the backend before anything runs.
2. Sample `candidates` feasible mixtures (`candidates.py`) and train one proxy per candidate
   and seed on the backend; every run is a folder of the store.
3. Fit weights -> target score (LightGBM and linear on log-weights, the one with the smaller
   leave-one-out error), search its surface over the feasible region, and write the pick as
   `best/mixture.yaml` (for `dataflow run mix`) and `best/run.yaml` (for `dataflow train`).
4. Confirm with the same proxies: natural, uniform, best sampled and predicted best mixtures,
   `confirm_seeds` seeds each; the report compares them (mean ± std) and says when the pick
   does not beat a baseline.

Every step derives from the config and `seed`, so a rerun with `--resume` plans the same runs
and only runs those not finished.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import yaml

from dataflow.config import deep_merge
from dataflow.errors import ConfigError
from trainer.search import backends, report
from trainer.search.candidates import feasible, sample_feasible
from trainer.search.config import SearchConfig
from trainer.search.inputs import SearchInputs, check_feasible, prior_weights, read_inputs
from trainer.search.regression import fit_surface, search_surface
from trainer.search.store import RunSpec, RunStore, write_text

log = logging.getLogger("trainer.search")
CONFIG_COPY = "search.yaml"
BASELINES = ("natural", "uniform", "best-sampled", "predicted")


def run_mixture_search(config: SearchConfig, resume: bool = False) -> dict:
    """Plan, run, fit, pick and confirm; return the summary (also written to summary.json)."""
    inputs = read_inputs(config)
    backends.check(config.backend)
    store = RunStore(config.out_dir)
    _claim_folder(store, config, resume)
    names = list(config.sources)
    rng = np.random.default_rng(config.seed)
    prior = np.array([prior_weights(config, inputs)[name] for name in names])
    limits = np.array([inputs.limits[name] for name in names])
    draws = sample_feasible(prior, limits, config.candidates, config.concentrations, rng)
    log.info("%d candidates sampled (%d infeasible draws rejected); share limits %s", config.candidates,
             draws.rejected, ", ".join(f"{name} {limit:.3g}" for name, limit in inputs.limits.items()))
    candidates = [_spec(config, inputs, f"c{index:03d}", weights, seed, "candidate")
                  for index, weights in enumerate(draws.weights) for seed in range(config.proxy.seeds)]
    _run(store, config, candidates, "candidates")

    table = store.write_table(inputs.target_weights).to_pylist()
    mixtures, scores = _mean_scores(table, names, "candidate")
    if len(scores) < 3:
        raise ConfigError(f"only {len(scores)} candidate mixtures finished (see `dataflow search status "
                          f"{config.out_dir}`); a fit needs 3 or more: fix the failures and rerun with --resume")
    weights = np.array([[mixtures[mixture][name] for name in names] for mixture in scores])
    observed = np.array(list(scores.values()))
    fit = fit_surface(weights, observed)
    best, predicted_score = search_surface(fit.model, prior, limits, config.concentrations, config.fit, rng)
    pick = dict(zip(names, best.tolist()))
    check_feasible(pick, inputs, config, "the predicted best mixture")
    _write_best(config, inputs, pick)
    best_sampled = min(scores, key=scores.get)

    baselines = {"natural": inputs.natural, "uniform": dict.fromkeys(names, 1 / len(names)),
                 "best-sampled": mixtures[best_sampled], "predicted": pick}
    skipped = {}
    confirmations = []
    for label, mixture in baselines.items():
        if not feasible(np.array([mixture[name] for name in names]), limits):
            skipped[label] = "infeasible at the final run's budget (a source would exceed max_epochs)"
            continue
        mixture_name = best_sampled if label == "best-sampled" else label
        confirmations += [_spec(config, inputs, mixture_name, np.array([mixture[name] for name in names]), seed, label)
                          for seed in range(config.proxy.confirm_seeds)]
    _run(store, config, confirmations, "confirmation runs")

    table = store.write_table(inputs.target_weights).to_pylist()
    summary = report.summarise(config, inputs, table, draws.rejected, fit, dict(zip(scores, weights.tolist())),
                               observed, pick, predicted_score, best_sampled, skipped)
    report.write(Path(config.out_dir), summary, table, names)
    return summary


def _claim_folder(store: RunStore, config: SearchConfig, resume: bool) -> None:
    copy = store.root / CONFIG_COPY
    resolved = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    if store.folders() and not resume:
        raise ConfigError(f"out_dir {config.out_dir} already holds runs of a search; pass --resume to finish it, "
                          "or choose another out_dir")
    if resume and copy.is_file() and copy.read_text(encoding="utf-8") != resolved:
        raise ConfigError(f"--resume: the config differs from the one {config.out_dir} was started with "
                          f"({copy}); resume with that config, or choose another out_dir")
    store.root.mkdir(parents=True, exist_ok=True)
    write_text(copy, resolved)


def _spec(config: SearchConfig, inputs: SearchInputs, mixture: str, weights: np.ndarray, seed: int,
          label: str) -> RunSpec:
    shares = {name: float(weight) for name, weight in zip(config.sources, weights)}
    mixture_file = {"name": f"{config.name}-{mixture}", "total_tokens": inputs.proxy.total_tokens,
                    "seq_len": inputs.proxy.seq_len, "seed": seed,
                    "sources": {name: {"path": str(Path(source.path).resolve()), "weight": shares[name],
                                       "max_epochs": source.max_epochs}
                                for name, source in config.sources.items()}}
    return RunSpec(run_id=f"{mixture}-s{seed}", mixture=mixture, weights=shares, seed=seed,
                   train=_proxy_train(inputs), mixture_file=mixture_file, labels=(label,))


def _proxy_train(inputs: SearchInputs) -> dict:
    """The proxies' run config, scoring the target datasets that are not sources."""
    return deep_merge(inputs.proxy.train, {"eval": {"datasets": {
        name: str(Path(path).resolve()) for name, path in inputs.eval_datasets.items()}}})


def _run(store: RunStore, config: SearchConfig, specs: list[RunSpec], what: str) -> None:
    folders = list(dict.fromkeys(store.add(spec) for spec in specs))
    todo = store.unfinished(folders)
    log.info("%s: %d runs, %d to run on the %s backend", what, len(folders), len(todo), config.backend.kind)
    finished = iter(range(1, len(todo) + 1))

    def progress(folder: Path, status: str) -> None:
        log.info("[%d/%d] %s %s", next(finished), len(todo), folder.name, status)

    backends.run_all(todo, config.backend, max_attempts=config.max_attempts, work_dir=store.root, progress=progress)


def _mean_scores(table: list[dict], names: list[str], label: str) -> tuple[dict[str, dict], dict[str, float]]:
    """Per mixture with `label`: its weights, and its target averaged over the seeds that finished."""
    mixtures, sums = {}, {}
    for row in table:
        if label in row["labels"].split(",") and row["status"] == "done" and row["target"] is not None:
            mixtures[row["mixture"]] = {name: row[f"w_{name}"] for name in names}
            sums.setdefault(row["mixture"], []).append(row["target"])
    return mixtures, {mixture: float(np.mean(values)) for mixture, values in sorted(sums.items())}


def _write_best(config: SearchConfig, inputs: SearchInputs, pick: dict[str, float]) -> None:
    """The pick as a mixture file for the final run and a run file for the proxy preset."""
    best = Path(config.out_dir) / "best"
    best.mkdir(parents=True, exist_ok=True)
    mixture = {"name": f"{config.name}-best", "total_tokens": config.final_run.total_tokens,
               "seq_len": inputs.proxy.seq_len, "seed": 0,
               "sources": {name: {"path": str(Path(source.path).resolve()), "weight": pick[name],
                                  "max_epochs": source.max_epochs} for name, source in config.sources.items()}}
    write_text(best / "mixture.yaml", yaml.safe_dump(mixture, sort_keys=False))
    run = deep_merge(_proxy_train(inputs), {"out_dir": str(Path(config.out_dir).resolve() / "best" / "run"), "seed": 0,
                                          "data": {"mixture": str((best / "mixture.yaml").resolve())}})
    write_text(best / "run.yaml", yaml.safe_dump(run, sort_keys=False))
