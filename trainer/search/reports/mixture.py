"""A mixture search's outcome: `summary.json` and PNG plots beside the results table.

The summary holds what `dataflow inspect SEARCH` prints: fit quality (cross-validated error and
Spearman of every fit, and which was chosen), the pick against the baselines (mean ± std over seeds of the
target and of every evaluated dataset's bits-per-byte, the target's evaluation standard error,
and a plain verdict per baseline: a win is a margin above twice the seed std and the evaluation
SE added in quadrature),
and the data constraint (epochs of each source at the final budget). Plots (matplotlib, Agg):
predicted vs observed, target against each source's weight, and bits-per-byte of the pick
vs the baselines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dataflow.mix.mixture import epochs_at
from trainer.search.engine.layout import PLOTS, SUMMARY
from trainer.search.engine.store import weights_id, write_json
from trainer.search.fits.noise import beyond_noise, difference_noise
from trainer.search.fits.rank_transfer import LARGER_SUFFIX, rank_transfer
from trainer.search.fits.regression import Fit
from trainer.search.reports.plots import pyplot, save_figure

if TYPE_CHECKING:  # types only: the mixture search, a layer above, hands its config and inputs to `summarise`
    from trainer.search.searches.mixture_config import MixtureConfig
    from trainer.search.searches.mixture_inputs import SearchInputs

LABELS = ("natural", "uniform", "best-sampled", "predicted")


def summarise(config: MixtureConfig, inputs: SearchInputs, table: list[dict], rejected_draws: int, fit: Fit,
              candidates: dict[str, list[float]], observed: np.ndarray, pick: dict[str, float],
              predicted_score: float, best_sampled: str, skipped: dict[str, str],
              transfer: list[str] | None = None) -> dict[str, Any]:
    """The summary; `transfer`: the candidates of the rank-transfer check, when it ran."""
    statuses = [row["status"] for row in table]
    current = {"predicted": f"predicted-{weights_id(pick)}"}  # the pick in best/, not an older fit's
    comparison = {label: {"skipped": skipped[label]} if label in skipped else _compare(table, label, current.get(label))
                  for label in LABELS}
    chosen = fit.quality[fit.chosen]
    return {
        "name": config.name,
        "runs": {status: statuses.count(status) for status in ("done", "failed", "queued", "running")},
        "failures": {row["run"]: row["failure"] for row in table if row["status"] == "failed"},
        "candidates": {"sampled": config.candidates, "rejected_draws": rejected_draws,
                       "seeds": config.proxy.seeds, "scored": len(candidates)},
        "target": config.target_weights,
        "budget": {"final_run_tokens": config.final_run.total_tokens, "proxy_tokens": inputs.proxy.total_tokens,
                   "proxy_preset": config.proxy.preset, "proxy_steps": inputs.proxy.max_steps},
        "fit": {"chosen": fit.chosen, "cross_validation": fit.scheme,
                "models": {name: {"cv_mae": q.cv_mae, "cv_rmse": q.cv_rmse, "cv_spearman": q.cv_spearman}
                           for name, q in fit.quality.items()},
                "points": [{"mixture": name, "observed": float(value), "cv_predicted": predicted}
                           for name, value, predicted in zip(candidates, observed, chosen.cv_predictions)],
                "predicted_target_of_pick": predicted_score},
        "pick": pick,
        "best_sampled": best_sampled,
        "comparison": comparison,
        "verdicts": _verdicts(comparison),
        "constraint": {name: {"available_tokens": inputs.available_tokens[name], "max_epochs": inputs.max_epochs[name],
                              "max_share": inputs.limits[name],
                              **{f"epochs_{label}": epochs_at(entry["weights"], inputs.available_tokens,
                                                              config.final_run.total_tokens)[name]
                                 for label, entry in comparison.items() if "weights" in entry}}
                       for name in config.sources},
        **({"rank_transfer": rank_transfer_summary(config, inputs, table, transfer)} if transfer else {}),
    }


def rank_transfer_summary(config: MixtureConfig, inputs: SearchInputs, table: list[dict],
                          mixtures: list[str]) -> dict[str, Any]:
    """Each checked candidate's target at the search's proxy and at the larger one (mean ± std over the same
    seeds), Spearman's rho between the two rankings, and each scale's pooled seed std: a rho near 1 with
    means spread well beyond the seed std says the proxy orders mixtures as the larger model does."""
    seeds = config.transfer.seeds

    def scores(mixture: str) -> list[float]:
        return [row["target"] for row in table if row["mixture"] == mixture and row["seed"] < seeds
                and row["status"] == "done" and row["target"] is not None]

    entries = [{"mixture": name, "proxy": mean_std(small) if (small := scores(name)) else None,
                "larger": mean_std(large) if (large := scores(name + LARGER_SUFFIX)) else None,
                "seeds": [len(small), len(large)]} for name in mixtures]
    both = [entry for entry in entries if entry["proxy"] and entry["larger"]]
    correlation = (rank_transfer({e["mixture"]: e["proxy"][0] for e in both},
                                 {e["mixture"]: e["larger"][0] for e in both}) if len(both) >= 3 else None)

    def pooled(scale: str) -> float | None:
        spread = [entry[scale][1] ** 2 for entry in both if entry["seeds"][scale == "larger"] > 1]
        return float(math.sqrt(np.mean(spread))) if spread else None

    larger = inputs.transfer_proxy
    def scale(preset: str, proxy) -> dict[str, Any]:
        model = proxy.train.get("model", {})
        return {"preset": preset, "d_model": model.get("d_model"), "num_layers": model.get("num_layers"),
                "tokens": proxy.total_tokens, "steps": proxy.max_steps}

    return {"proxy": scale(config.proxy.preset, inputs.proxy), "larger": scale(config.transfer.preset, larger),
            "seeds": seeds, "mixtures": entries,
            "spearman": correlation.spearman if correlation else None,
            "p_value": correlation.p_value if correlation else None,
            "seed_std": {"proxy": pooled("proxy"), "larger": pooled("larger")}}


def _compare(table: list[dict], label: str, mixture: str | None = None) -> dict[str, Any]:
    rows = [row for row in table if label in row["labels"].split(",") and row["status"] == "done"
            and mixture in (None, row["mixture"])]
    if label == "best-sampled":  # its candidate run counts as one of its seeds
        rows = [row for row in table if row["mixture"] == (rows[0]["mixture"] if rows else None)
                and row["status"] == "done"]
    if not rows:
        return {"skipped": "no run finished"}
    names = [key[2:] for key in rows[0] if key.startswith("w_")]
    bpb = sorted({key[4:] for row in rows for key in row if key.startswith("bpb_") and row[key] is not None})
    return {"mixture": rows[0]["mixture"], "weights": {name: rows[0][f"w_{name}"] for name in names},
            "seeds": len(rows), "target": mean_std([row["target"] for row in rows]),
            "target_se": _mean_se([row.get("target_se") for row in rows]),
            "bits_per_byte": {name: mean_std([row[f"bpb_{name}"] for row in rows]) for name in bpb}}


def mean_std(values: list[float]) -> list[float]:
    """[mean, sample std]; std 0 for one value."""
    return [float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0]


def _mean_se(values: list[float | None]) -> float | None:
    """The runs' mean evaluation standard error; None when a run has none (a table from before it was recorded)."""
    return float(np.mean(values)) if values and all(v is not None for v in values) else None


def _verdicts(comparison: dict[str, dict]) -> list[str]:
    """The pick beats a baseline when its mean target is lower by more than twice the noise."""
    pick = comparison["predicted"]
    if "target" not in pick:
        return [f"the predicted best was not confirmed: {pick['skipped']}"]
    lines = []
    for label in ("natural", "uniform", "best-sampled"):
        base = comparison[label]
        if "target" not in base:
            lines.append(f"{label}: no comparison ({base['skipped']})")
            continue
        margin = base["target"][0] - pick["target"][0]
        eval_se = max(base.get("target_se") or 0.0, pick.get("target_se") or 0.0)
        noise = difference_noise(base["target"][1], base["seeds"], pick["target"][1], pick["seeds"], eval_se)
        if noise is None:
            lines.append(f"{label}: margin {margin:+.4f} bits/byte, seed noise unknown (fewer than 2 seeds)")
        elif margin > 0 and beyond_noise(margin, noise):
            lines.append(f"the pick beats {label} by {margin:.4f} bits/byte, beyond noise (± {noise:.4f}, "
                         f"eval SE {eval_se:.4f} included)")
        else:
            lines.append(f"the pick does NOT beat {label}: margin {margin:+.4f} bits/byte within noise "
                         f"(± {noise:.4f}, eval SE {eval_se:.4f} included) or worse")
    return lines


def write(root: Path, summary: dict[str, Any], table: list[dict], names: list[str]) -> None:
    write_json(root / SUMMARY, summary)
    plt = pyplot()
    (root / PLOTS).mkdir(exist_ok=True)
    _predicted_vs_observed(plt, summary, root / PLOTS / "predicted_vs_observed.png")
    _target_vs_weights(plt, table, names, root / PLOTS / "target_vs_weights.png")
    _pick_vs_baselines(plt, summary, root / PLOTS / "pick_vs_baselines.png")


def _predicted_vs_observed(plt, summary: dict, path: Path) -> None:
    points = summary["fit"]["points"]
    observed = [p["observed"] for p in points]
    predicted = [p["cv_predicted"] for p in points]
    quality = summary["fit"]["models"][summary["fit"]["chosen"]]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(observed, predicted, s=18)
    low, high = min(observed + predicted), max(observed + predicted)
    ax.plot([low, high], [low, high], color="grey", linewidth=1)
    ax.set(xlabel="observed target (bits/byte)", ylabel=f"{summary['fit']['cross_validation']} prediction",
           title=f"{summary['fit']['chosen']}: Spearman {quality['cv_spearman']:.3f}, MAE {quality['cv_mae']:.4f}")
    save_figure(plt, fig, path)


def _target_vs_weights(plt, table: list[dict], names: list[str], path: Path) -> None:
    rows = [row for row in table if row["status"] == "done" and row["target"] is not None]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.5), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.scatter([row[f"w_{name}"] for row in rows], [row["target"] for row in rows], s=14)
        ax.set(xlabel=f"weight of {name}", xlim=(0, 1))
    axes[0][0].set_ylabel("target (bits/byte)")
    save_figure(plt, fig, path)


def _pick_vs_baselines(plt, summary: dict, path: Path) -> None:
    entries = {label: entry for label, entry in summary["comparison"].items() if "target" in entry}
    if not entries:
        return
    datasets = ["target", *sorted({name for entry in entries.values() for name in entry["bits_per_byte"]})]
    fig, ax = plt.subplots(figsize=(2 + 1.5 * len(datasets), 4))
    width = 0.8 / len(entries)
    means = []
    for index, (label, entry) in enumerate(entries.items()):
        values = [entry["target"] if name == "target" else entry["bits_per_byte"][name] for name in datasets]
        means += [v[0] for v in values]
        ax.bar(np.arange(len(datasets)) + index * width, [v[0] for v in values], width,
               yerr=[v[1] for v in values], label=f"{label} ({entry['seeds']} seeds)", capsize=2)
    if all(map(math.isfinite, means)):  # differences are small next to the values: start the axis near them
        ax.set_ylim(bottom=0.95 * min(means))
    ax.set_xticks(np.arange(len(datasets)) + 0.4 - width / 2, datasets)
    ax.set(ylabel="bits per byte (mean ± std)")
    ax.legend(fontsize=8)
    save_figure(plt, fig, path)
