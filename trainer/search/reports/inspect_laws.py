"""The tables of the scaling, variant and hyper-parameter searches (`dataflow inspect SEARCH`).

The registry (`trainer/search/registry.py`) hands them to `inspect.py` by the kind a search folder's
summary.json names; read from the summary only, like the mixture search's view.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.inspect.report import Report, Table
from trainer.search.reports.inspect import add_failures


def scaling_view(report: Report, summary: dict, plots: Path) -> None:
    law, intervals = summary["law"], summary["intervals"]
    report.summary.update({"search": summary["name"], "kind": "scaling", "runs": summary["runs"],
                           "mixture": summary["mixture"], "target": summary["target"], "plots": str(plots)})
    level = f"{summary['interval_level']:.0%} bootstrap interval"
    report.tables["scaling law"] = Table(
        ["constant", "value", level], [[name, law[name], f"{intervals[name][0]:.4g} .. {intervals[name][1]:.4g}"]
                                       for name in law],
        note="L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, approach 3), target in bits/byte")
    report.tables["grid"] = Table(
        ["point", "params N", "tokens D", "compute 6ND", "target", "std", "seeds", "held out"],
        [[g["point"], g["params"], g["tokens"], f"{g['compute']:.3g}", g["loss"], g["std"], g["seeds"], g["held_out"]]
         for g in summary["grid"]])
    c = summary["compute_law"]
    report.summary["loss vs compute"] = (f"L(C) = {c['E']:.4g} + {c['K']:.4g}/C^{c['gamma']:.4g} on the frontier "
                                         f"({', '.join(c['frontier'])})")
    report.tables["compute-optimal"] = Table(
        ["compute (FLOPs)", "params N", "tokens D", "tokens per param", "predicted target"],
        [[f"{o['compute']:.3g}", f"{o['params']:.4g}", f"{o['tokens']:.4g}", round(o["tokens_per_param"], 2), o["loss"]]
         for o in summary["compute_optimal"]],
        note="for this data; Chinchilla's ~20 tokens per parameter was MassiveText's")
    report.tables["held-out prediction"] = Table(
        ["point", "observed", "predicted", "error", "relative error"],
        [[h["point"], h["observed"], h["predicted"], h["error"], f"{h['relative_error']:+.2%}"]
         for h in summary["holdout"]],
        note=None if summary["holdout"] else "no point held out (holdout: [SIZE@TOKENS] in the search file)")
    add_failures(report, summary)


def variants_view(report: Report, summary: dict, plots: Path) -> None:
    report.summary.update({
        "search": summary["name"], "kind": "variants", "runs": summary["runs"], "mixture": summary["mixture"],
        "target": summary["target"], "plots": str(plots),
        "compute shared": f"{summary['shared_compute']:.1%} of each branch's tokens come from the base run "
                          f"({summary['base_tokens']:,} base + {summary['branch_tokens']:,} branch tokens)",
        "compute used": f"{summary['compute_vs_separate_runs']:.1%} of training every branch from scratch"})
    transfer = summary.get("rank_transfer")
    if transfer:
        report.summary["rank transfer"] = (f"Spearman {transfer['spearman']:.3f} (p {transfer['p_value']:.3g}) between "
                                           f"{transfer['small']} and {transfer['large']}")
    report.tables["variants"] = Table(
        ["size", "variant", "seeds", "target", "change vs control", "noise", "verdict"],
        [[e["size"], e["name"], e["seeds"], _pm(e["target"]), e["delta"], e["delta_std"], e["verdict"] or "-"]
         for e in summary["variants"]],
        note="target: mean ± std over seeds; noise: standard error of the difference; beyond noise = over 2 of it")
    if summary.get("derived"):
        report.tables["derived sources"] = Table(
            ["variant", "source", "stage", "where", "top fraction", "rows", "documents", "tokens", "train tokens"],
            [[d["variant"], d["source"], d["stage"], d["where"] or "-", d["top_fraction"] or "-", d["rows"],
              d["documents"], d["tokens"], d["train_tokens"]] for d in summary["derived"]],
            note="selected from a stage output and tokenised by the search with the base source's tokenizer")
    add_failures(report, summary)


def hparams_view(report: Report, summary: dict, plots: Path) -> None:
    report.summary.update({"search": summary["name"], "kind": "hparams", "runs": summary["runs"],
                           "sampler": summary["sampler"], "tokens per run": summary["tokens"],
                           "target": summary["target"], "plots": str(plots)})
    law = summary.get("law")
    if law:
        report.summary["learning-rate law"] = f"lr_opt = {law['coefficient']:.4g} * N^-{law['exponent']:.4g}"
    if "prediction" in summary:
        p = summary["prediction"]
        report.summary["prediction"] = (f"{p['preset']} ({p['params']:,} params): lr {p['lr']:.3g} "
                                        f"(its preset has {p['preset_lr']:.3g})")
    report.tables["optimum per size"] = Table(
        ["size", "params", "batch size", "optimum lr", "law lr", "best target", "at sweep edge", "pruned trials"],
        [[size, e["params"], e["batch_size"], e["optimum_lr"], e.get("law_lr"), e["best_loss"], e["at_edge"],
          e["pruned"]]
         for size, e in summary["sizes"].items()],
        note="at sweep edge: the best rate is the smallest or largest tried; widen the sweep. batch size: the "
             "size's best, where its optimum rate is taken")
    report.tables["optimum per batch size"] = Table(
        ["size", "batch size", "optimum lr", "best target", "at sweep edge"],
        [[size, batch, b["optimum_lr"], b["best_loss"], b["at_edge"]]
         for size, e in summary["sizes"].items() for batch, b in e["per_batch_size"].items()])
    report.tables["trials"] = Table(
        ["size", "run", "lr", "batch size", "target", "pruned"],
        [[t["size"], t["run"], t["lr"], t["batch_size"], t["loss"], t["pruned"]]
         for e in summary["sizes"].values() for t in e["trials"]])
    add_failures(report, summary)


def _pm(mean_std: list[float] | None) -> str:
    return f"{mean_std[0]:.4f} ± {mean_std[1]:.4f}" if mean_std else "-"

