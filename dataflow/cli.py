"""The `dataflow` command: one entry point, subcommands registered here (dolma's pattern).

Each subcommand is a thin wrapper over `dataflow`, `jobs` or `trainer` code; Spark and torch
are imported inside the command functions so that `import dataflow` stays light. Failures a
user can fix print one line; `--debug` shows the traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from dataflow.errors import UserError

#: Stage name -> job module; `dataflow run NAME ARGS` calls `<module>.main(ARGS)`.
STAGES = {
    "extract": "jobs.extract",
    "dedup": "jobs.dedup",
}

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Web crawls to pretraining tokens, and the search for the best data mixture.")
inspect_app = typer.Typer(no_args_is_help=True, help="Look at stage outputs and documents.")
config_app = typer.Typer(no_args_is_help=True, help="Pipeline configuration.")
dedup_app = typer.Typer(no_args_is_help=True, help="Duplicate look-ups in a dedup stage output.")
app.add_typer(inspect_app, name="inspect")
app.add_typer(config_app, name="config")
app.add_typer(dedup_app, name="dedup")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def run(ctx: typer.Context, stage: Annotated[str, typer.Argument(help=f"one of: {', '.join(STAGES)}")]) -> None:
    """Run a pipeline stage as a Spark job (local[*] here; the same job file runs under spark-submit).

    Arguments after STAGE go to the job; `dataflow run STAGE --help` lists them.
    """
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}; known stages: {', '.join(STAGES)}")
    code = importlib.import_module(STAGES[stage]).main(list(ctx.args))
    raise typer.Exit(code)


@config_app.command("show")
def config_show(config: Annotated[Optional[Path], typer.Option(help="pipeline YAML file")] = None) -> None:
    """Print the resolved pipeline config, every default filled in."""
    import yaml

    from dataflow.pipeline_config import load_pipeline_config

    typer.echo(yaml.safe_dump(load_pipeline_config(config).model_dump(mode="json"), sort_keys=False))


@inspect_app.command("doc")
def inspect_doc(doc_id: Annotated[str, typer.Argument(help="document id")],
                path: Annotated[Path, typer.Argument(help="stage output folder")],
                raw: Annotated[bool, typer.Option(help="also print the WARC record's headers and payload start")] = False) -> None:
    """Print one document, its provenance, and optionally the WARC bytes it came from."""
    from dataflow.doc_lookup import find_document, read_record_at

    found = find_document(str(path), doc_id)
    if found is None:
        raise UserError(f"no document with id {doc_id} in {path}")
    row, part = found
    text = row.pop("text", None)
    typer.echo(json.dumps({**row, "found_in": part}, indent=2, default=str, ensure_ascii=False))
    typer.echo("\n" + (text or "(no text)"))
    if raw and row.get("warc_path"):
        typer.echo("\n--- WARC record ---\n" + read_record_at(row["warc_path"], row["warc_offset"]))


@inspect_app.command("dups")
def inspect_dups(path: Annotated[Path, typer.Argument(help="dedup stage output folder")],
                 top: Annotated[int, typer.Option(help="how many clusters, largest first")] = 20,
                 lines: Annotated[int, typer.Option(help="non-empty lines of each text to show")] = 6) -> None:
    """The largest duplicate clusters: the kept text beside a removed one."""
    from rich.console import Console
    from rich.table import Table

    from dataflow.dup_report import largest_clusters

    console = Console()
    for cluster in largest_clusters(str(path), top):
        reasons = Counter(member.reason for member in cluster.removed)
        table = Table(title=f"cluster {cluster.id}: {cluster.size} rows, removed "
                            + ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items())),
                      show_lines=True, expand=True)
        table.add_column(f"kept {cluster.kept.id}", ratio=1)
        table.add_column(f"removed {cluster.removed[0].id}" if cluster.removed else "removed", ratio=1)
        table.add_row(_head(cluster.kept.text, lines), _head(cluster.removed[0].text, lines) if cluster.removed else "")
        console.print(table)


@dedup_app.command("near")
def dedup_near(doc_id: Annotated[str, typer.Argument(help="document id")],
               path: Annotated[Path, typer.Argument(help="dedup stage output folder")],
               limit: Annotated[int, typer.Option(help="most rows to list")] = 20) -> None:
    """Near duplicates of one document: its cluster and its LSH candidates, with Jaccard similarities."""
    from dataflow.dup_report import near_duplicates

    target, found = near_duplicates(str(path), doc_id, limit)
    typer.echo(f"{doc_id}: {target.reason or 'kept'}, cluster {target.cluster or '(none)'}")
    if not found:
        typer.echo("no near duplicates or LSH candidates")
        return
    typer.echo(f"{'exact J':>8} {'MinHash J':>10}  {'cluster':<8} {'row':<16} id")
    for member in found:
        same = "same" if target.cluster and member.cluster == target.cluster else "other"
        typer.echo(f"{member.exact:8.3f} {member.estimated:10.3f}  {same:<8} {member.reason or 'kept':<16} {member.id}")


def _head(text: str | None, lines: int) -> str:
    return "\n".join([line for line in (text or "").splitlines() if line.strip()][:lines])


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning user errors into one line on stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        app(args=args, prog_name="dataflow", standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except Exception as err:
        if debug:
            raise
        typer.echo(f"error: {_one_line(err)}", err=True)
        if not isinstance(err, UserError):
            typer.echo("(run with --debug for the traceback)", err=True)
        return 2
    return 0


def _one_line(err: Exception) -> str:
    import click

    if isinstance(err, click.ClickException):
        return err.format_message()
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return message if isinstance(err, UserError) else f"{type(err).__name__}: {message}"
