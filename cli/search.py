"""`dataflow search`: the searches over proxy training runs (one command per kind of the search registry:
mixture, scaling, variants, hparams), the compute plan, a search's status and the mixture fit on any results table.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from typer.models import CommandInfo

from dataflow.errors import UserError

if TYPE_CHECKING:
    from trainer.search.registry import SearchKind


search_app = typer.Typer(no_args_is_help=True, help="Searches over proxy training runs: `search mixture` picks the "
                                                    "data mixture for a final run's budget.")


RESUME_HELP = "finish a killed search: only unfinished runs run (a half-done run resumes from its checkpoint)"
RETRY_HELP = "with --resume: run the failed runs again, each with a fresh count of max_attempts tries"
DRY_RUN_HELP = "print the resolved search file and exit"


def sync_kind_commands() -> None:
    """One `dataflow search KIND` command per entry of the registry's `KINDS`, in its order and ahead of
    plan/status/fit. Run at import, and by `main` before each command line so that the commands follow a
    kind registered (or removed) at runtime, by a plugin or a test: adding a kind needs no code here."""
    from trainer.search.registry import KINDS

    fixed = [info for info in search_app.registered_commands if not hasattr(info.callback, "search_kind")]
    taken = sorted(set(KINDS) & {info.name for info in fixed})
    if taken:
        raise ValueError(f"search kind {taken[0]!r} has the name of a `dataflow search` command; rename the kind")
    search_app.registered_commands[:] = [CommandInfo(name=name, callback=_kind_command(name, kind), help=kind.help)
                                         for name, kind in KINDS.items()] + fixed


def _kind_command(name: str, kind: SearchKind) -> Callable[..., None]:
    """The command of one kind: `--config` with the kind's help, `--resume`, `--retry-failed`, and
    `--dry-run` where the kind has it; the signature is built so that Typer reads the kind's own help."""
    def command(config: str, resume: bool = False, retry_failed: bool = False, dry_run: bool = False) -> None:
        _run_kind(name, config, resume, retry_failed, dry_run)

    # A str, not a Path: a search file may be a URL (the search.yaml of a folder on object storage).
    options = {"config": (Annotated[str, typer.Option(help=kind.config_help)], inspect.Parameter.empty),
               "resume": (Annotated[bool, typer.Option(help=RESUME_HELP)], False),
               "retry_failed": (Annotated[bool, typer.Option(help=RETRY_HELP)], False)}
    if kind.dry_run:
        options["dry_run"] = (Annotated[bool, typer.Option(help=DRY_RUN_HELP)], False)
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(option, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default)
         for option, (annotation, default) in options.items()])
    command.__annotations__ = {option: annotation for option, (annotation, _) in options.items()}
    command.search_kind = name  # type: ignore[attr-defined]  # marks the kinds' commands for sync_kind_commands
    return command


def _run_kind(kind: str, config: str, resume: bool, retry_failed: bool, dry_run: bool) -> None:
    """Load the search file as `kind` (one-line errors), print it (--dry-run) or run it with the search's
    log lines, then print the kind's outcome and, after failed runs, how to rerun them."""
    from trainer.search.registry import KINDS, load_search_as, run_search

    search = load_search_as(config, kind)
    if dry_run:
        import yaml

        typer.echo(yaml.safe_dump(search.model_dump(mode="json"), sort_keys=False), nl=False)
        return
    _search_logging()
    summary = run_search(search, resume, retry_failed)
    for line in KINDS[kind].code().outcome(search, summary):
        typer.echo(line)
    _failure_note(summary, kind, search.out_dir)


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
def search_status(path: Annotated[str, typer.Argument(help="search folder (its out_dir: a path or a URL)")]) -> None:
    """Every run of a search: queued / running / done / failed, attempts, target, failure reason."""
    from dataflow.inspect.render import render_table
    from dataflow.inspect.report import Table
    from trainer.search.engine.store import RunStore, live_status
    from trainer.search.registry import load_any_search

    store = RunStore(path)
    path = store.root
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


sync_kind_commands()
