"""The `dataflow` command: one entry point; each command group lives in its own module of this
package (`pipeline`, `train`, `inspect`, `stage_tools`, `search`) and is registered here (dolma's pattern).

Each subcommand is a thin wrapper over `dataflow`, `jobs` or `trainer` code; Spark and torch
are imported inside the command functions so that `import dataflow` stays light. Failures a
user can fix print one line; `--debug` shows the traceback.
"""

from __future__ import annotations

import sys

import typer

from cli import inspect, pipeline, search, stage_tools, train
from dataflow.errors import UserError, worker_error_line


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Web crawls to pretraining tokens, and the search for the best data mixture.")
app.add_typer(pipeline.app)
app.add_typer(train.app)
app.add_typer(inspect.inspect_app, name="inspect")
app.add_typer(pipeline.config_app, name="config")
app.add_typer(train.tokenizer_app, name="tokenizer")
app.add_typer(train.classifiers_app, name="classifiers")
app.add_typer(stage_tools.benchmarks_app, name="benchmarks")
app.add_typer(stage_tools.dedup_app, name="dedup")
app.add_typer(stage_tools.filters_app, name="filters")
app.add_typer(search.search_app, name="search")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning user errors into one line on stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        search.sync_kind_commands()
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
    worker_error = worker_error_line(str(err))
    if worker_error:
        return f"a Spark task failed: {worker_error}"
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return message if isinstance(err, UserError) else f"{type(err).__name__}: {message}"
