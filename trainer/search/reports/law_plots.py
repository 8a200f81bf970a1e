"""PNG plots of the scaling, variant and hyper-parameter searches, drawn from their summary.json.

Matplotlib with the Agg backend, written atomically beside the summary (`plots/`), as part 1's
mixture plots are (`plots.save_figure`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.search.engine.layout import PLOTS
from trainer.search.fits.scaling_law import ComputeLaw, ScalingLaw
from trainer.search.reports.plots import pyplot, save_figure


def scaling(root: Path, summary: dict) -> None:
    """Observed vs fitted loss against tokens, one curve per size; loss against compute with the frontier."""
    plt, law = pyplot(), ScalingLaw(**summary["law"])
    (root / PLOTS).mkdir(exist_ok=True)
    grid = summary["grid"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    span = np.geomspace(min(g["tokens"] for g in grid) / 2, max(g["tokens"] for g in grid) * 2, 100)
    for size in dict.fromkeys(g["size"] for g in grid):
        mine = [g for g in grid if g["size"] == size]
        line = ax.plot(span, law.loss(mine[0]["params"], span), linewidth=1,
                       label=f"{size} ({mine[0]['params']:,} params)")
        for held_out, marker in ((False, "o"), (True, "x")):
            chosen = [g for g in mine if g["held_out"] == held_out]
            ax.errorbar([g["tokens"] for g in chosen], [g["loss"] for g in chosen], [g["std"] for g in chosen],
                        fmt=marker, color=line[0].get_color(), markersize=6 if held_out else 4, capsize=2)
    ax.set(xscale="log", xlabel="training tokens D", ylabel="target (bits/byte)",
           title=f"L = {law.E:.3g} + {law.A:.3g}/N^{law.alpha:.3g} + {law.B:.3g}/D^{law.beta:.3g}  (x: held out)")
    ax.legend(fontsize=7)
    save_figure(plt, fig, root / PLOTS / "scaling_fit.png")

    compute_law = ComputeLaw(**{key: summary["compute_law"][key] for key in ("E", "K", "gamma")})
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter([g["compute"] for g in grid], [g["loss"] for g in grid], s=14, label="runs")
    span = np.geomspace(min(g["compute"] for g in grid) / 2, max(g["compute"] for g in grid) * 4, 100)
    ax.plot(span, compute_law.loss(span),
            label=f"frontier fit {compute_law.E:.3g} + {compute_law.K:.3g}/C^{compute_law.gamma:.3g}")
    optimal = law.optimal_params(span)
    ax.plot(span, law.loss(optimal, span / (6 * optimal)), linestyle="--", label="compute-optimal L(N_opt, D_opt)")
    ax.set(xscale="log", xlabel="compute C = 6ND (FLOPs)", ylabel="target (bits/byte)", title="loss against compute")
    ax.legend(fontsize=7)
    save_figure(plt, fig, root / PLOTS / "compute_frontier.png")


def variants(root: Path, summary: dict) -> None:
    """Each variant's bits-per-byte change against the control, with the seed noise as error bars."""
    plt = pyplot()
    (root / PLOTS).mkdir(exist_ok=True)
    entries = [v for v in summary["variants"] if v["delta"] is not None]
    fig, ax = plt.subplots(figsize=(1.2 * len(entries) + 3, 4))
    ax.bar(range(len(entries)), [v["delta"] for v in entries], yerr=[v["delta_std"] for v in entries], capsize=3)
    ax.axhline(0, color="grey", linewidth=1)
    ax.set_xticks(range(len(entries)), [v["variant"] for v in entries], rotation=20)
    ax.set(ylabel="target change vs control (bits/byte; < 0 is better)",
           title=f"branches from one WSD checkpoint ({summary['shared_compute']:.0%} of compute shared)")
    save_figure(plt, fig, root / PLOTS / "variant_gains.png")


def learning_rates(root: Path, summary: dict) -> None:
    """Loss against learning rate per size, each size's optimum, and the fitted power law's rates."""
    plt = pyplot()
    (root / PLOTS).mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for size, entry in summary["sizes"].items():
        batches = entry["per_batch_size"]
        for batch in batches:  # one curve per batch size; the size's optimum is at its best batch size
            trials = sorted((t for t in entry["trials"] if t["loss"] is not None and str(t["batch_size"]) == batch),
                            key=lambda t: t["lr"])
            line = ax.plot([t["lr"] for t in trials], [t["loss"] for t in trials], marker="o", markersize=3,
                           label=f"{size} ({entry['params']:,} params)" + (f", batch {batch}" if len(batches) > 1
                                                                           else ""))
        ax.axvline(entry["optimum_lr"], color=line[0].get_color(), linestyle=":", linewidth=1)
        if "law_lr" in entry:
            ax.axvline(entry["law_lr"], color=line[0].get_color(), linestyle="--", linewidth=1)
    law = summary.get("law")
    ax.set(xscale="log", xlabel="peak learning rate", ylabel="target (bits/byte)",
           title=(f"lr_opt = {law['coefficient']:.3g}·N^-{law['exponent']:.3g} (dotted: per size, dashed: law)"
                  if law else "learning-rate sweep"))
    ax.legend(fontsize=7)
    save_figure(plt, fig, root / PLOTS / "lr_sweep.png")
