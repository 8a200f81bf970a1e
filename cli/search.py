"""`dataflow search`: the searches over proxy training runs (mixture, scaling, variants, hparams), the compute
plan, a search's status and the mixture fit on any results table.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from dataflow.errors import UserError


search_app = typer.Typer(no_args_is_help=True, help="Searches over proxy training runs: `search mixture` picks the "
                                                    "data mixture for a final run's budget.")


@search_app.command("mixture")
def search_mixture(config: Annotated[Path, typer.Option(help="search file (YAML, trainer/search/config.py)")],
                   resume: Annotated[bool, typer.Option(help="finish a killed search: only unfinished runs run "
                                                             "(a half-done run resumes from its checkpoint)")] = False,
                   retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False,
                   dry_run: Annotated[bool,
                                      typer.Option(help="print the resolved search file and exit")] = False) -> None:
    """Sample feasible mixtures, train a proxy on each, fit, pick the best and confirm it against baselines.

    The fit is chosen by cross-validation among four (see `search fit --help` and docs/search/mixture.md);
    summary.json records every fit's cross-validated MAE and Spearman and the chosen one.

    Verdicts: "the pick beats X by M bits/byte, more than the seed std S" means the confirmed mean of
    the pick is lower than baseline X's by more than the larger of their seed stds; "does NOT beat"
    means the margin is within seed noise or negative: look at the fit's Spearman (below ~0.7 the
    proxies do not rank mixtures reliably) and at whether the pick sits on a max_epochs bound.
    """
    import logging

    import yaml

    from trainer.search.searches.mixture_config import load_mixture_config

    search = load_mixture_config(config)
    if dry_run:
        typer.echo(yaml.safe_dump(search.model_dump(mode="json"), sort_keys=False), nl=False)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("trainer", "trainer.metrics", "py4j"):  # the search logs each run's end; runs keep their own logs
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from trainer.search.searches.mixture import run_mixture_search

    summary = run_mixture_search(search, resume=resume, retry_failed=retry_failed)
    fit = summary["fit"]
    typer.echo(f"fit ({fit['cross_validation']}): " + "; ".join(
        f"{name} MAE {q['cv_mae']:.4f} Spearman {q['cv_spearman']:.3f}" for name, q in fit["models"].items())
        + f"; chosen {fit['chosen']}")
    typer.echo("\n".join(summary["verdicts"]))
    typer.echo(f"pick: {search.out_dir}/best/mixture.yaml; report: dataflow inspect {search.out_dir}")
    _failure_note(summary, "mixture", search.out_dir)


def _failure_note(summary: dict, kind: str, out_dir: str) -> None:
    """After a search with failed runs: how many, where to read why, and the command that reruns them."""
    from trainer.search.engine.runner import retry_command

    if summary.get("failures"):
        typer.echo(f"{len(summary['failures'])} runs failed (reasons: dataflow search status {out_dir}); "
                   f"rerun them with: {retry_command(kind, out_dir)}")


def _search_logging() -> None:
    """INFO lines of the search itself; each run keeps its own logs in its folder."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("trainer", "trainer.metrics", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _law_search(config: Path, resume: bool, kind: str, retry_failed: bool = False):
    """Load a search file of `kind` (one-line errors), then run it with the search's log lines."""
    from trainer.search.registry import load_search_as, run_search

    search = load_search_as(config, kind)
    _search_logging()
    summary = run_search(search, resume, retry_failed)
    _failure_note(summary, kind, search.out_dir)
    return search, summary


RESUME_HELP = "finish a killed search: only unfinished runs run (a half-done run resumes from its checkpoint)"
RETRY_HELP = "with --resume: run the failed runs again, each with a fresh count of max_attempts tries"


@search_app.command("scaling")
def search_scaling(config: Annotated[Path,
                                     typer.Option(help="scaling search file (YAML, trainer/search/scaling_search.py)")],
                   resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
                   retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False) -> None:
    """Train a grid of model sizes x token budgets, fit L(N, D) with intervals, predict held-out runs."""
    search, summary = _law_search(config, resume, "scaling", retry_failed)
    law = summary["law"]
    typer.echo(f"L(N, D) = {law['E']:.4g} + {law['A']:.4g}/N^{law['alpha']:.4g} + {law['B']:.4g}/D^{law['beta']:.4g}")
    for entry in summary["compute_optimal"]:
        typer.echo(f"at {entry['compute']:.3g} FLOPs: N {entry['params']:.4g}, D {entry['tokens']:.4g}, "
                   f"{entry['tokens_per_param']:.1f} tokens per parameter")
    for held in summary["holdout"]:
        typer.echo(f"held out {held['point']}: observed {held['observed']:.4f}, predicted {held['predicted']:.4f} "
                   f"({held['relative_error']:+.2%})")
    typer.echo(f"report: dataflow inspect {search.out_dir}")


@search_app.command("variants")
def search_variants(config: Annotated[Path, typer.Option(help="variant search file (YAML, "
                                                             "trainer/search/variant_search.py)")],
                    resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
                    retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False) -> None:
    """One WSD base run, then decay-phase branches per data variant and a control; gains with seed noise."""
    search, summary = _law_search(config, resume, "variants", retry_failed)
    for row in summary["derived"]:
        typer.echo(f"derived {row['variant']}/{row['source']}: {row['rows']:,} rows, {row['tokens']:,} tokens")
    for entry in summary["variants"]:
        typer.echo(f"{entry['variant']}: {entry['verdict'] or 'control'}")
    typer.echo(f"compute shared with the base: {summary['shared_compute']:.1%}; report: dataflow inspect "
               f"{search.out_dir}")


@search_app.command("hparams")
def search_hparams(config: Annotated[Path,
                                     typer.Option(help="hyper-parameter search file (YAML, "
                                                  "trainer/search/hparam_search.py)")],
                   resume: Annotated[bool, typer.Option(help=RESUME_HELP)] = False,
                   retry_failed: Annotated[bool, typer.Option(help=RETRY_HELP)] = False) -> None:
    """Learning-rate sweeps at several sizes (grid, or Optuna with pruning); the optimum as a power law of size."""
    search, summary = _law_search(config, resume, "hparams", retry_failed)
    for size, entry in summary["sizes"].items():
        typer.echo(f"{size} ({entry['params']:,} params): best lr {entry['optimum_lr']:.3g} at batch size "
                   f"{entry['batch_size']}" + (" (at the sweep's edge: widen it)" if entry["at_edge"] else ""))
    if "law" in summary:
        typer.echo(f"lr_opt = {summary['law']['coefficient']:.4g} * N^-{summary['law']['exponent']:.4g}")
    if "prediction" in summary:
        typer.echo(f"{summary['prediction']['preset']}: lr {summary['prediction']['lr']:.3g}")
    typer.echo(f"report: dataflow inspect {search.out_dir}")


@search_app.command("plan")
def search_plan(compute: Annotated[float, typer.Option(help="training compute in FLOPs (C = 6ND), e.g. 1e19")],
                scaling: Annotated[Path, typer.Option(help="out_dir of a finished `dataflow search scaling`")],
                hparams: Annotated[Optional[Path], typer.Option(help="out_dir of a finished `dataflow search hparams` "
                                                                     "(for the learning rate)")] = None,
                mixture: Annotated[Optional[Path], typer.Option(help="mixture file of the planned run [default: the "
                                                                     "scaling search's]")] = None) -> None:
    """Parameters, tokens, preset and learning rate for a budget; repeated tokens valued by Muennighoff et al."""
    from dataflow.inspect.render import render_table
    from dataflow.inspect.report import Table
    from trainer.search.searches.compute_plan import plan_compute

    plan = plan_compute(compute, scaling, hparams, str(mixture) if mixture else None)
    sources = list(plan["unique_tokens"])
    rows = [[label, f"{p['params']:.4g}", f"{p['tokens']:.4g}", round(p["tokens_per_param"], 2),
             f"{p['effective_tokens']:.4g}", round(p["predicted_target"], 4), f"{p['preset']} ({p['preset_params']:,})",
             f"{p['lr']:.3g}" if p["lr"] else "-", *[round(p["epochs"][name], 2) for name in sources]]
            for label, p in plan["plans"].items()]
    typer.echo(f"compute {compute:.3g} FLOPs, mixture {plan['mixture']} ("
               + ", ".join(f"{name} {plan['unique_tokens'][name]:,} tokens" for name in sources) + ")")
    typer.echo("\n".join(render_table(Table(
        ["plan", "params N", "tokens D", "D/N", "effective D", "predicted target", "nearest preset", "lr",
         *[f"epochs {name}" for name in sources]], rows,
        note="predicted targets value repeated tokens as Muennighoff et al. 2023 (R* = 15.4) in both rows"))))


@search_app.command("status")
def search_status(path: Annotated[Path, typer.Argument(help="search folder (its out_dir)")]) -> None:
    """Every run of a search: queued / running / done / failed, attempts, target, failure reason."""
    from dataflow.inspect.render import render_table
    from dataflow.inspect.report import Table
    from trainer.search.engine.store import RunStore, live_status
    from trainer.search.registry import load_any_search

    store = RunStore(path)
    if not (path / "search.yaml").is_file():
        raise UserError(f"{path} is not a search folder (no search.yaml); give the out_dir of a search")
    rows = [{**row, "status": live_status(path / "runs" / row["run"])}
            for row in store.rows(load_any_search(path / "search.yaml").target_weights)]
    for folder, reason in store.unreadable().items():
        typer.echo(f"unreadable run folder {folder} (left out): {reason}")
    counts = Counter(row["status"] for row in rows)
    typer.echo(f"{path}: {len(rows)} runs; " + ", ".join(f"{counts[s]} {s}" for s in ("done", "running", "queued",
                                                                                        "interrupted", "failed")))
    columns = ["run", "status", "attempts", "target", "wall_seconds", "failure"]
    typer.echo("\n".join(render_table(Table(columns, [[row[c] for c in columns] for row in rows]))))


@search_app.command("fit")
def search_fit(results: Annotated[Path, typer.Option(help="table of mixtures and scores (CSV, TSV or Parquet)")],
               target: Annotated[str, typer.Option(help="the score column (lower is better)")],
               weights_prefix: Annotated[Optional[str], typer.Option(help="weight columns start with this "
                                                                          "[default: w_]")] = None,
               weights: Annotated[Optional[str], typer.Option(help="weight columns, comma-separated")] = None,
               predict: Annotated[Optional[Path], typer.Option(help="rank this table's mixtures with the fit")] = None,
               optimize: Annotated[Optional[Path], typer.Option(help="write the predicted best mixture (YAML) "
                                                                     "here; needs --config")] = None,
               config: Annotated[Optional[Path], typer.Option(help="search file whose sources, max_epochs and "
                                                                   "final budget constrain --optimize")] = None,
               ) -> None:
    """Fit the search's regression on any results table; rank other mixtures; optimise under constraints.

    Rows whose weights sum to 1 within 1% (rounded published shares) are renormalised, with one line
    saying how many; rows further off are refused. Fits, each cross-validated (leave-one-out up to
    100 rows, 5-fold beyond) and printed with MAE and Spearman:

    lightgbm: RegMix's boosted trees; wins with hundreds of rows, flat outside the sampled region.
    linear: ridge on log-weights; a cheap baseline, rarely best.
    mixing-law: Ye et al.'s L = c + exp(sum t_j r_j), robust fit, one per target dataset; wins on
    tens of rows and when the optimum lies beyond the rows (it extrapolates).
    ensemble: the three rank-averaged, weighted by their Spearman; best on large tables.

    The chosen fit has the highest Spearman; the mixing law is chosen when within one standard error
    of it. More, and how to read the figures: docs/search/mixture.md.
    """
    from trainer.search.searches.table_fit import describe_fit, fit_table, rank_other, read_table

    if optimize is not None and config is None:
        raise UserError("--optimize needs --config SEARCH.yaml: its sources, max_epochs and final_run budget "
                        "are the constraints")
    columns = weights.split(",") if weights else None
    table = read_table(results, target, weights_prefix, columns)
    if table.renormalised_line():
        typer.echo(f"{results}: {table.renormalised_line()}")
    fit = fit_table(table)
    typer.echo("\n".join(describe_fit(fit, len(table.scores))))
    if predict is not None:
        other = read_table(predict, target, weights_prefix, columns, need_target=False)
        if other.renormalised_line():
            typer.echo(f"{predict}: {other.renormalised_line()}")
        typer.echo("\n".join(rank_other(fit, other, table.names)))
    if optimize is not None:
        from trainer.search.searches.table_fit import optimise_to_file

        pick = optimise_to_file(fit, table.names, config, optimize)
        typer.echo(f"wrote {optimize}: " + ", ".join(f"{name} {share:.4f}" for name, share in pick.items()))
