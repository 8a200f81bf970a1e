"""The data-constraint search: which mixture of these sources, at their sizes, trains the best model
for the final run's budget (RegMix, Liu et al. 2024, with the budget's repetition limits added).

    dataflow search mixture --config search/mix.yaml [--resume]

1. Check the inputs (`inputs.py`) and the backend before anything runs.
2. Sample `candidates` feasible mixtures (`candidates.py`) and train one proxy per candidate
   and seed on the backend; every run is a folder of the store.
3. Fit weights -> target score (LightGBM, linear on log-weights, a data mixing law per target
   dataset and their rank-averaged ensemble; the one with the best cross-validated Spearman,
   `regression.py`), search its surface over the feasible region, and write the pick as
   `best/mixture.yaml` (for `dataflow run mix`) and `best/run.yaml` (for `dataflow train`).
4. Confirm with the same proxies: natural, uniform, best sampled and predicted best mixtures,
   `confirm_seeds` seeds each; the report compares them (mean ± std) and says when the pick
   does not beat a baseline.

Every step derives from the config and `seed`, so a rerun with `--resume` plans the same runs
and only runs those not finished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from dataflow.atomic import write_text
from dataflow.config import deep_merge
from dataflow.errors import ConfigError
from dataflow.mix.mixture import epochs_at
from trainer.search.engine import backends
from trainer.search.engine.layout import BEST_DIR, BEST_MIXTURE, BEST_RUN
from trainer.search.engine.runner import Runner, claim_folder, retry_command, run_specs
from trainer.search.engine.store import RunSpec, RunStore, weights_id
from trainer.search.fits.rank_transfer import LARGER_SUFFIX, TRANSFER_LABEL
from trainer.search.fits.candidates import Draws, feasible, sample_feasible
from trainer.search.fits.regression import Regressor, Scores, fit_surface, search_surface
from trainer.search.reports import mixture as report
from trainer.search.searches.mixture_config import MixtureConfig
from trainer.search.searches.mixture_inputs import (
    Proxy,
    SearchInputs,
    check_feasible,
    check_same_datasets,
    prior_weights,
    read_inputs,
)

log = logging.getLogger("trainer.search")


@dataclass(frozen=True)
class TransferPlan:
    mixtures: list[str]
    """The candidates checked, best first at the search's proxy."""
    specs: list[RunSpec]


def run_mixture_search(config: MixtureConfig, resume: bool = False, retry_failed: bool = False,
                       runner: Runner | None = None) -> dict:
    """Plan, run, fit, pick and confirm; return the summary (also written to summary.json).

    `runner` replaces the backend: by default `config.backend` trains a proxy per run folder; a
    runner that scores each folder's mixture on a known loss surface (tests/trainer/planted_law.py)
    checks everything else the search does against a known optimum, without training."""
    inputs = read_inputs(config)
    backends.check(config.backend)
    store = RunStore(config.out_dir)
    claim_folder(store, config, resume, retry_failed)
    check_same_datasets(store.root, inputs.manifests, resume)
    names = list(config.sources)
    draws, candidates = plan_candidates(config, inputs)
    log.info("%d candidates sampled (%d infeasible draws rejected); share limits %s", config.candidates,
             draws.rejected, ", ".join(f"{name} {limit:.3g}" for name, limit in inputs.limits.items()))
    run_specs(store, config, candidates, "candidates", runner)

    table = store.write_table(config.target_weights).to_pylist()
    mixtures, scores = _mean_scores(table, names, "candidate")
    if len(scores) < 3:
        raise ConfigError(f"only {len(scores)} candidate mixtures finished (see `dataflow search status "
                          f"{config.out_dir}`); a fit needs 3 or more: fix the failures, then rerun them with "
                          f"`{retry_command('mixture', config.out_dir)}`")
    weights = np.array([[mixtures[mixture][name] for name in names] for mixture in scores])
    observed = np.array(list(scores.values()))
    fit = fit_surface(weights, _target_parts(table, list(scores), config.target_weights))
    pick, predicted_score = optimise(config, inputs, fit.model, np.random.default_rng([config.seed, 1]))
    write_best(config, inputs, pick, store.root / BEST_DIR)
    best_sampled = min(scores, key=scores.get)

    baselines = {"natural": inputs.natural, "uniform": dict.fromkeys(names, 1 / len(names)),
                 "best-sampled": mixtures[best_sampled], "predicted": pick}
    confirmations, skipped = _confirmations(config, inputs, baselines, best_sampled)
    run_specs(store, config, confirmations, "confirmation runs", runner)

    transfer = plan_transfer(config, inputs, scores, mixtures) if config.transfer else None
    if transfer:
        run_specs(store, config, transfer.specs, "rank-transfer runs", runner)

    table = store.write_table(config.target_weights).to_pylist()
    summary = report.summarise(config, inputs, table, draws.rejected, fit, dict(zip(scores, weights.tolist())),
                               observed, pick, predicted_score, best_sampled, skipped,
                               transfer.mixtures if transfer else None)
    report.write(store.root, summary, table, names)
    return summary


def mixture_outcome(config: MixtureConfig, summary: dict) -> list[str]:
    """What `dataflow search mixture` prints at the end: the fits' quality, the verdicts, where the pick is."""
    fit = summary["fit"]
    return [f"fit ({fit['cross_validation']}): " + "; ".join(
                f"{name} MAE {q['cv_mae']:.4f} Spearman {q['cv_spearman']:.3f}" for name, q in fit["models"].items())
            + f"; chosen {fit['chosen']}",
            "\n".join(summary["verdicts"]),
            f"pick: {config.out_dir}/best/mixture.yaml; report: dataflow inspect {config.out_dir}"]


def plan_candidates(config: MixtureConfig, inputs: SearchInputs) -> tuple[Draws, list[RunSpec]]:
    """The candidates (fixed by `seed`) and their runs, `proxy.seeds` per candidate."""
    prior, limits = _prior_and_limits(config, inputs)
    draws = sample_feasible(prior, limits, config.candidates, config.concentrations, np.random.default_rng(config.seed))
    return draws, [run_spec(config, inputs, f"c{index:03d}", weights, seed, "candidate")
                   for index, weights in enumerate(draws.weights) for seed in range(config.proxy.seeds)]


def _confirmations(config: MixtureConfig, inputs: SearchInputs, baselines: dict[str, dict[str, float]],
                   best_sampled: str) -> tuple[list[RunSpec], dict[str, str]]:
    """`confirm_seeds` runs of each baseline, and the baselines left out (infeasible) with the reason."""
    _, limits = _prior_and_limits(config, inputs)
    specs, skipped = [], {}
    for label, mixture in baselines.items():
        weights = np.array([mixture[name] for name in config.sources])
        if not feasible(weights, limits):
            skipped[label] = "infeasible at the final run's budget (a source would exceed max_epochs)"
            continue
        name = {"best-sampled": best_sampled, "predicted": predicted_name(mixture)}.get(label, label)
        specs += [run_spec(config, inputs, name, weights, seed, label) for seed in range(config.proxy.confirm_seeds)]
    return specs, skipped


def predicted_name(pick: dict[str, float]) -> str:
    """`predicted-<hash of the weights>`: a refit that moves the pick confirms it in new run folders,
    never in those of an older pick (the store refuses a run id whose stored weights differ)."""
    return f"predicted-{weights_id(pick)}"


def run_spec(config: MixtureConfig, inputs: SearchInputs, mixture: str, weights: np.ndarray, seed: int,
             label: str, proxy: Proxy | None = None) -> RunSpec:
    """One run of `mixture` at the search's proxy (or at `proxy`, the rank-transfer check's larger one)."""
    proxy = proxy or inputs.proxy
    shares = {name: float(weight) for name, weight in zip(config.sources, weights)}
    return RunSpec(run_id=f"{mixture}-s{seed}", mixture=mixture, weights=shares, seed=seed,
                   train=_proxy_train(inputs, proxy), labels=(label,),
                   mixture_file=mixture_file(config, f"{config.name}-{mixture}", shares, proxy.total_tokens,
                                             proxy.seq_len, seed))


def plan_transfer(config: MixtureConfig, inputs: SearchInputs, scores: dict[str, float],
                  mixtures: dict[str, dict[str, float]]) -> TransferPlan:
    """The rank-transfer check's runs: `transfer.mixtures` candidates evenly spaced over the candidates'
    ranking (so the check spans good and bad mixtures, as a search must tell them apart), each at the
    search's proxy and at the larger one, `transfer.seeds` seeds apiece. A candidate the larger run would
    repeat beyond a source's max_epochs is passed over for its neighbour in the ranking."""
    larger = inputs.transfer_proxy
    ranked = sorted(scores, key=scores.get)
    usable = [name for name in ranked if all(
        epochs <= inputs.max_epochs[source] * (1 + 1e-9)
        for source, epochs in epochs_at(mixtures[name], inputs.available_tokens, larger.total_tokens).items())]
    if len(usable) < 3:
        raise ConfigError(f"transfer.total_tokens {config.transfer.total_tokens:,}: only {len(usable)} candidates "
                          "stay within max_epochs at that budget; a rank correlation needs 3 or more: lower it")
    count = min(config.transfer.mixtures, len(usable))
    chosen = [usable[int(index)] for index in np.unique(np.round(np.linspace(0, len(usable) - 1, count)))]
    specs = []
    for name in chosen:
        weights = np.array([mixtures[name][source] for source in config.sources])
        for seed in range(config.transfer.seeds):
            specs += [run_spec(config, inputs, name, weights, seed, TRANSFER_LABEL),
                      run_spec(config, inputs, f"{name}{LARGER_SUFFIX}", weights, seed, TRANSFER_LABEL, larger)]
    return TransferPlan(mixtures=chosen, specs=specs)


def mixture_file(config: MixtureConfig, name: str, shares: dict[str, float], total_tokens: int, seq_len: int,
                 seed: int) -> dict:
    """A mixture file (dataflow/mix/mixture.py) over the search's sources."""
    return {"name": name, "total_tokens": total_tokens, "seq_len": seq_len, "seed": seed,
            "sources": {source: {"path": str(Path(limit.path).resolve()), "weight": shares[source],
                                 "max_epochs": limit.max_epochs} for source, limit in config.sources.items()}}


def optimise(config: MixtureConfig, inputs: SearchInputs, model: Regressor,
             rng: np.random.Generator) -> tuple[dict[str, float], float]:
    """The fitted surface's best feasible mixture, checked with the mixture maths, and its predicted score."""
    names = list(config.sources)
    prior, limits = _prior_and_limits(config, inputs)
    best, predicted = search_surface(model, prior, limits, config.concentrations, config.fit, rng)
    pick = dict(zip(names, best.tolist()))
    check_feasible(pick, inputs, config, "the predicted best mixture")
    return pick, predicted


def _proxy_train(inputs: SearchInputs, proxy: Proxy | None = None) -> dict:
    """The proxies' run config (or `proxy`'s), scoring the target datasets that are not sources."""
    return deep_merge((proxy or inputs.proxy).train, {"eval": {"datasets": {
        name: str(Path(path).resolve()) for name, path in inputs.eval_datasets.items()}}})


def _mean_scores(table: list[dict], names: list[str], label: str) -> tuple[dict[str, dict], dict[str, float]]:
    """Per mixture with `label`: its weights, and its target averaged over the seeds that finished."""
    mixtures, sums = {}, {}
    for row in table:
        if label in row["labels"].split(",") and row["status"] == "done" and row["target"] is not None:
            mixtures[row["mixture"]] = {name: row[f"w_{name}"] for name in names}
            sums.setdefault(row["mixture"], []).append(row["target"])
    return mixtures, {mixture: float(np.mean(values)) for mixture, values in sorted(sums.items())}


def _target_parts(table: list[dict], mixtures: list[str], target_weights: dict[str, float]) -> Scores:
    """Each target dataset's bits-per-byte per candidate mixture (mean over its finished seeds), so that
    a fit can model each dataset apart (one mixing law per dataset)."""
    parts = np.array([[np.mean([row[f"bpb_{name}"] for row in table if row["mixture"] == mixture
                                and "candidate" in row["labels"].split(",") and row["status"] == "done"])
                       for name in target_weights] for mixture in mixtures])
    return Scores(parts, np.array(list(target_weights.values())))


def _prior_and_limits(config: MixtureConfig, inputs: SearchInputs) -> tuple[np.ndarray, np.ndarray]:
    """The prior and the share limits as vectors in the order of `config.sources`."""
    prior = prior_weights(config, inputs)
    return (np.array([prior[name] for name in config.sources]),
            np.array([inputs.limits[name] for name in config.sources]))


def write_best(config: MixtureConfig, inputs: SearchInputs, pick: dict[str, float], folder: Path) -> None:
    """The pick as a mixture file for the final run's budget (`dataflow run mix`) and a proxy run file
    (`dataflow train`)."""
    folder.mkdir(parents=True, exist_ok=True)
    best = mixture_file(config, f"{config.name}-best", pick, config.final_run.total_tokens, inputs.proxy.seq_len, 0)
    write_text(folder / BEST_MIXTURE, yaml.safe_dump(best, sort_keys=False), durable=True)
    run = deep_merge(_proxy_train(inputs), {"out_dir": str(folder.resolve() / "run"), "seed": 0,
                                            "data": {"mixture": str((folder / BEST_MIXTURE).resolve())}})
    write_text(folder / BEST_RUN, yaml.safe_dump(run, sort_keys=False), durable=True)
