"""The `dataflow` command: one entry point, subcommands registered here (dolma's pattern).

Each subcommand is a thin wrapper over `dataflow`, `jobs` or `trainer` code; Spark and torch
are imported inside the command functions so that `import dataflow` stays light. Failures a
user can fix print one line; `--debug` shows the traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from dataflow.errors import UserError

#: Stage name -> job module; `dataflow run NAME ARGS` calls `<module>.main(ARGS)`.
STAGES = {
    "extract": "jobs.extract",
    "tokenize": "jobs.tokenize_docs",
    "mix": "jobs.mix",
}



class PathDefaultGroup(TyperGroup):
    """A command group whose first argument, when it names no subcommand, is a PATH for `path`:
    `dataflow inspect out/docs` runs `dataflow inspect path out/docs`, while named views
    (`inspect doc ID PATH`, ...) stay subcommands. A folder named like a subcommand is
    reached as `inspect path NAME` or `inspect ./NAME`."""

    default_command = "path"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Web crawls to pretraining tokens, and the search for the best data mixture.")
inspect_app = typer.Typer(cls=PathDefaultGroup, no_args_is_help=True,
                          help="Look at any output (`dataflow inspect PATH`) or a named view (`inspect doc ...`).")
config_app = typer.Typer(no_args_is_help=True, help="Pipeline configuration.")
tokenizer_app = typer.Typer(no_args_is_help=True, help="Tokenizers: train a byte-level BPE on a sample of documents.")
app.add_typer(inspect_app, name="inspect")
app.add_typer(config_app, name="config")
app.add_typer(tokenizer_app, name="tokenizer")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def run(ctx: typer.Context, stage: Annotated[str, typer.Argument(help=f"one of: {', '.join(STAGES)}")]) -> None:
    """Run a pipeline stage as a Spark job (local[*] here; the same job file runs under spark-submit).

    Arguments after STAGE go to the job; `dataflow run STAGE --help` lists them.
    """
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}; known stages: {', '.join(STAGES)}")
    code = importlib.import_module(STAGES[stage]).main(list(ctx.args))
    raise typer.Exit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def train(ctx: typer.Context) -> None:
    """Train a GPT proxy on a data mixture (one process; use torchrun -m trainer.train for many).

    All arguments go to the trainer: `dataflow train --help` lists them (--config, --resume, ...).
    """
    from trainer.train import main as train_main

    raise typer.Exit(train_main(list(ctx.args)))


@app.command("sample-warcs")
def sample_warcs(out_dir: Annotated[Path, typer.Argument(help="folder for the WARC files and manifest.jsonl")],
                 pages: Annotated[int, typer.Option(help="HTML pages to write")] = 2000,
                 files: Annotated[int, typer.Option(help="WARC files to spread them over")] = 4,
                 seed: Annotated[int, typer.Option(help="same seed, byte-identical files")] = 0) -> None:
    """Write realistic sample WARC files from text the project carries (the offline default input)."""
    from dataflow.samples import write_sample_warcs

    summary = write_sample_warcs(out_dir, num_pages=pages, num_files=files, seed=seed)
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.counts.items()))
    typer.echo(f"wrote {len(summary.warc_paths)} WARC files ({summary.num_bytes / 1e6:.1f} MB) to {out_dir}: {kinds}")
    typer.echo(f"ground truth: {summary.manifest_path}; sample benchmark: {summary.benchmark_path}")


@config_app.command("show")
def config_show(config: Annotated[Optional[Path], typer.Option(help="pipeline YAML file")] = None) -> None:
    """Print the resolved pipeline config, every default filled in."""
    import yaml

    from dataflow.pipeline_config import load_pipeline_config

    typer.echo(yaml.safe_dump(load_pipeline_config(config).model_dump(mode="json"), sort_keys=False))


@tokenizer_app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                       add_help_option=False)
def tokenizer_train(ctx: typer.Context) -> None:
    """Train a byte-level BPE on a seeded sample of documents drawn in Spark (jobs/train_tokenizer.py).

    All arguments go to the job: `dataflow tokenizer train --help` lists them (--input, --vocab-size, --output, ...).
    """
    from jobs.train_tokenizer import main as train_main

    raise typer.Exit(train_main(list(ctx.args)))


@inspect_app.command("path")
def inspect_any(path: Annotated[Path, typer.Argument(help="any output: stage folder, rejected/, token source or "
                                                          "dataset, mixture, tokenizer.json, pipeline folder")],
                sample: Annotated[int, typer.Option(help="show N random rows, documents or sequences")] = 0,
                where: Annotated[Optional[str], typer.Option(help="filter rows first, e.g. \"language == 'de' and "
                                                                  "len(text) > 500\"")] = None,
                verify: Annotated[bool, typer.Option(help="check integrity: shard hashes, counts vs "
                                                          "stats.json")] = False,
                decode: Annotated[int, typer.Option(help="decode N random documents or sequences to text")] = 0,
                tokenizer: Annotated[Optional[Path], typer.Option(
                    help="tokenizer.json for --decode if the manifest's path moved (sha256 checked)")] = None,
                top: Annotated[int, typer.Option(help="values per breakdown table")] = 10,
                bins: Annotated[int, typer.Option(help="bins per histogram")] = 20,
                seed: Annotated[int, typer.Option(help="seed of the random picks")] = 0,
                as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False) -> None:
    """Counts, schema, breakdowns, funnel, histograms, samples and integrity of any output."""
    from dataflow.inspect import InspectOptions, inspect_path, render_text

    report = inspect_path(path, InspectOptions(sample=sample, where=where, verify=verify, decode=decode,
                                               tokenizer=str(tokenizer) if tokenizer else None, top=top, bins=bins,
                                               seed=seed))
    typer.echo(json.dumps(report.to_json(), indent=1, default=str, ensure_ascii=False) if as_json
               else render_text(report))


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
