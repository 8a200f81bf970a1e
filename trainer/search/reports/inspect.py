"""Inspecting a search folder (`dataflow inspect SEARCH_FOLDER`): the runs, and the view of its summary.json
by kind. The mixture search's view is here (the fit, the pick against the baselines, the data
constraint); the other kinds' views come from the registry (`trainer/search/registry.py`), and a kind
without one gets `plain_view`.

Read from files only (no torch: the searches are not imported). While a search is still running the
summary is absent and the table is the one last rebuilt; `dataflow search status` reads the
run folders live. `dataflow/inspect` knows this view only through `add_kind` (the registry's
`add_inspect_view`), as the ground package imports nothing of the trainer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from dataflow.errors import InputError
from dataflow.inspect.options import InspectOptions
from dataflow.inspect.report import Report, Table
from trainer.search.engine.layout import BEST_DIR, BEST_MIXTURE, PLOTS, SUMMARY, TABLE

View = Callable[[Report, dict, Path], None]
"""Fills the report from a search's summary.json; given the folder of its plots."""


def search_report(path: Path, options: InspectOptions, views: dict[str, View]) -> Report:
    """The report of the search folder at `path`; `views` by kind for summaries with a `kind` (the registry's)."""
    report = Report(kind="search", path=str(path))
    rows = pq.read_table(path / TABLE).to_pylist() if (path / TABLE).is_file() else []
    report.tables["runs"] = _runs_table(rows)
    if not (path / SUMMARY).is_file():
        report.summary["state"] = (f"not finished: no {SUMMARY} yet ({len(rows)} runs in the table); "
                                   f"`dataflow search status {path}` shows the runs live")
        return report
    try:
        summary = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path / SUMMARY} is not JSON ({err}); rerun the search with --resume to "
                         "rewrite it") from None
    if summary.get("kind", "mixture") != "mixture":  # scaling, variants, hparams searches (issue 12), ...
        views.get(summary["kind"], plain_view)(report, summary, path / PLOTS)
        return report
    fit = summary["fit"]
    # Searches summarised before k-fold cross-validation recorded leave-one-out figures as loo_*.
    method = fit.get("cross_validation", "leave-one-out")
    report.summary.update({
        "search": summary["name"], "runs": summary["runs"],
        "candidates": f"{summary['candidates']['scored']} scored of {summary['candidates']['sampled']} sampled "
                      f"({summary['candidates']['rejected_draws']} infeasible draws rejected)",
        "budget": f"final run {summary['budget']['final_run_tokens']:,} tokens; proxy "
                           f"{summary['budget']['proxy_preset']}"
                  f", {summary['budget']['proxy_tokens']:,} tokens ({summary['budget']['proxy_steps']} steps)",
        "target": summary["target"], "fit": f"{fit['chosen']} (chosen by {method} Spearman)",
        "pick": {name: round(share, 4) for name, share in summary["pick"].items()},
        "pick predicted target": fit["predicted_target_of_pick"], "best sampled": summary["best_sampled"],
        "pick file": str(path / BEST_DIR / BEST_MIXTURE), "plots": str(path / PLOTS)})
    report.tables[f"fit ({method})"] = Table(
        ["model", "MAE", "RMSE", "Spearman"],
        [[name, *(q.get(f"cv_{key}", q.get(f"loo_{key}")) for key in ("mae", "rmse", "spearman"))]
         for name, q in fit["models"].items()])
    report.tables["pick vs baselines"] = _comparison_table(summary["comparison"])
    report.tables["verdict"] = Table(["verdict"], [[line] for line in summary["verdicts"]])
    report.tables["data constraint (final run)"] = _constraint_table(summary["constraint"])
    if "rank_transfer" in summary:
        report.summary["rank transfer"] = _transfer_line(summary["rank_transfer"])
        report.tables["rank transfer"] = _transfer_table(summary["rank_transfer"])
    add_failures(report, summary)
    return report


def plain_view(report: Report, summary: dict, plots: Path) -> None:
    """A kind without a view of its own: the summary's plain values, and its failed runs."""
    report.summary.update({key: value for key, value in summary.items() if isinstance(value, str | int | float)})
    report.summary["plots"] = str(plots)
    add_failures(report, summary)


def add_failures(report: Report, summary: dict) -> None:
    """The failed runs and their reasons, when there are any."""
    if summary.get("failures"):
        report.tables["failed runs"] = Table(["run", "reason"], [[run, why]
                                                                 for run, why in summary["failures"].items()])


def _runs_table(rows: list[dict]) -> Table:
    weights = [key for key in (rows[0] if rows else {}) if key.startswith("w_")]
    columns = ["run", "labels", "status", "target", "target_se", *weights, "wall_seconds"]
    return Table(columns, [[row.get(c) if not c.startswith("w_") else round(row[c], 3) for c in columns]
                           for row in rows])


def _comparison_table(comparison: dict[str, dict]) -> Table:
    datasets = sorted({name for entry in comparison.values() for name in entry.get("bits_per_byte", {})})
    rows = []
    for label, entry in comparison.items():
        if "target" not in entry:
            rows.append([label, "-", "-", f"not run: {entry['skipped']}", "-", *["-"] * len(datasets)])
            continue
        se = entry.get("target_se")
        rows.append([label, entry["mixture"], entry["seeds"], _pm(entry["target"]),
                     f"{se:.4f}" if se is not None else "-",
                     *[_pm(entry["bits_per_byte"][name]) if name in entry["bits_per_byte"] else "-"
                       for name in datasets]])
    return Table(["mixture", "run name", "seeds", "target bpb", "eval SE", *[f"{name} bpb" for name in datasets]],
                 rows, note="mean ± std over seeds; eval SE: standard error over the target's evaluation "
                            "windows, mean over seeds; lower is better")


def _constraint_table(constraint: dict[str, dict]) -> Table:
    labels = sorted({key[7:] for entry in constraint.values() for key in entry if key.startswith("epochs_")})
    return Table(["source", "train tokens", "max epochs", "max share", *[f"epochs {label}" for label in labels]],
                 [[name, entry["available_tokens"], entry["max_epochs"], round(entry["max_share"], 4),
                   *[round(entry[f"epochs_{label}"], 3) if f"epochs_{label}" in entry else "-" for label in labels]]
                  for name, entry in constraint.items()])


def _transfer_line(transfer: dict) -> str:
    rho, std = transfer["spearman"], transfer["seed_std"]
    scales = f"{_scale(transfer['proxy'])} vs {_scale(transfer['larger'])}"
    if rho is None:
        return f"{scales}: fewer than 3 mixtures scored at both scales"
    noise = ", ".join(f"{scale} {value:.4f}" for scale, value in std.items() if value is not None)
    return (f"{scales}: Spearman {rho:.3f} (p {transfer['p_value']:.3g}) over {len(transfer['mixtures'])} "
            f"mixtures, {transfer['seeds']} seeds each" + (f"; pooled seed std {noise}" if noise else ""))


def _scale(scale: dict) -> str:
    shape = f" (d_model {scale['d_model']}, {scale['num_layers']} layers)" if scale.get("d_model") else ""
    return f"{scale['preset']}{shape}, {scale['tokens']:,} tokens"


def _transfer_table(transfer: dict) -> Table:
    rows = [[entry["mixture"], *(_pm(entry[scale]) if entry[scale] else "-" for scale in ("proxy", "larger")),
             "/".join(str(count) for count in entry["seeds"])] for entry in transfer["mixtures"]]
    return Table(["mixture", "target bpb, proxy", "target bpb, larger", "seeds"], rows,
                 note="the checked candidates, in the order of their candidate runs' scores (best first); "
                      "mean ± std over seeds")


def _pm(mean_std: list[float]) -> str:
    return f"{mean_std[0]:.4f} ± {mean_std[1]:.4f}"
