"""`dataflow inspect`: any output by PATH, or a named view (a document, a training run, a filter verdict,
contamination, duplicate clusters).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from dataflow.errors import UserError


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


inspect_app = typer.Typer(cls=PathDefaultGroup, no_args_is_help=True,
                          help="Look at any output (`dataflow inspect PATH`) or a named view (`inspect doc`, "
                               "`inspect run`, `inspect explain`, `inspect dups`, `inspect contamination`).")


@inspect_app.command("path")
def inspect_any(path: Annotated[Path, typer.Argument(help="any output: stage folder, rejected/, token source or "
                                                          "dataset, mixture, tokenizer.json, pipeline folder")],
                sample: Annotated[int, typer.Option(help="show N random rows, documents or sequences")] = 0,
                where: Annotated[Optional[str], typer.Option(help="filter rows first, e.g. \"language == 'de' and "
                                                                  "len(text) > 500\"")] = None,
                verify: Annotated[bool, typer.Option(help="check integrity: shard hashes, counts vs "
                                                          "stats.json")] = False,
                decode: Annotated[int, typer.Option(help="decode N random documents or sequences to text")] = 0,
                rejected: Annotated[bool,
                                    typer.Option(help="a stage's rejected rows: examples of every reason")] = False,
                examples: Annotated[int, typer.Option(help="examples per reason with --rejected")] = 3,
                tokenizer: Annotated[Optional[Path], typer.Option(
                    help="tokenizer.json for --decode if the manifest's path moved (sha256 checked)")] = None,
                sequence: Annotated[Optional[int], typer.Option(
                    help="a mixture output: the documents inside sequence N (ids, URLs, token ranges)")] = None,
                top: Annotated[int, typer.Option(help="values per breakdown table")] = 10,
                bins: Annotated[int, typer.Option(help="bins per histogram")] = 20,
                seed: Annotated[int, typer.Option(help="seed of the random picks")] = 0,
                as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False) -> None:
    """Counts, schema, breakdowns, funnel, histograms, samples and integrity of any output."""
    from dataflow.inspect import InspectOptions, inspect_path, render_text
    from trainer.search.registry import add_inspect_view

    add_inspect_view()
    report = inspect_path(path, InspectOptions(sample=sample, where=where, verify=verify, decode=decode,
                                               rejected=examples if rejected else 0,
                                               tokenizer=str(tokenizer) if tokenizer else None, top=top, bins=bins,
                                               seed=seed, sequence=sequence))
    typer.echo(json.dumps(report.to_json(), indent=1, default=str, ensure_ascii=False) if as_json
               else render_text(report))


@inspect_app.command("doc")
def inspect_doc(doc_id: Annotated[str, typer.Argument(help="document id")],
                path: Annotated[Path, typer.Argument(help="stage output folder")],
                raw: Annotated[bool, typer.Option(help="also print the WARC record's headers and payload "
                                                       "start")] = False) -> None:
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


@inspect_app.command("run")
def inspect_run(path: Annotated[Path, typer.Argument(help="training run folder (the out_dir of `dataflow train`)")],
                spikes: Annotated[bool, typer.Option(help="every skipped or rolled-back step: its documents, "
                                                          "the highest excess loss first")] = False,
                step: Annotated[Optional[int], typer.Option(help="the documents of this step's batch")] = None,
                top: Annotated[int, typer.Option(help="documents shown per step")] = 10,
                as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False) -> None:
    """From a loss spike (or any step) back to its documents: ids, URLs, losses, filter values, raw pages."""
    from dataflow.inspect import render_text
    from dataflow.inspect.run import run_report

    report = run_report(path, spikes=spikes, step=step, top=top)
    typer.echo(json.dumps(report.to_json(), indent=1, default=str, ensure_ascii=False) if as_json
               else render_text(report))


@inspect_app.command("explain")
def inspect_explain(
        doc: Annotated[str, typer.Argument(help="a text file, or a document id (with --input)")],
        input: Annotated[Optional[Path], typer.Option("--input", help="stage folder holding the document id")] = None,
        config: Annotated[Optional[Path], typer.Option(help="pipeline YAML file (its filter: section)")] = None,
        language: Annotated[Optional[str], typer.Option(help="language of the text [default: the document's, "
                                                                 "or lid.176 on a text file]")] = None) -> None:
    """Every filter rule's measured value, thresholds and verdict for one document."""
    from dataflow.filters.explain import explain
    from dataflow.pipeline import load_pipeline_config

    filter_config = load_pipeline_config(config).filter
    text, url, found_language = _document_for_explain(doc, input)
    typer.echo(explain(text, filter_config, language or found_language, url))


def _document_for_explain(doc: str, stage_dir: Optional[Path]) -> tuple[str, str | None, str | None]:
    """(text, url, language) of a text file or of a document id in `stage_dir`."""
    if Path(doc).is_file():
        from dataflow.extract import langid

        text = Path(doc).read_text(encoding="utf-8")
        return text, None, langid.identify([text], langid.default_model_path())[0][0] or None
    if stage_dir is None:
        raise UserError(f"{doc} is not a file; to explain a document id, give the folder holding it with --input")
    from dataflow.doc_lookup import find_document

    found = find_document(str(stage_dir), doc)
    if found is None:
        raise UserError(f"no document with id {doc} in {stage_dir}")
    row, part = found
    typer.echo(f"{doc} found in {part}/ of {stage_dir}; a filter output keeps C4-edited text, so explain "
               "documents from the filter's input to see what the stage saw")
    return row.get("text") or "", row.get("url"), row.get("language")


@inspect_app.command("contamination")
def inspect_contamination(path: Annotated[Path, typer.Argument(help="decontaminate output folder")],
                          benchmark: Annotated[Optional[str], typer.Option(help="show only this benchmark")] = None,
                          examples: Annotated[int, typer.Option(help="leaked items shown per benchmark")] = 3) -> None:
    """Per benchmark: items, items found, documents affected, and leaked items with their text."""
    from dataflow.decontaminate.report import format_report, read_report

    typer.echo(format_report(read_report(str(path)), benchmark=benchmark, examples=examples))


@inspect_app.command("dups")
def inspect_dups(path: Annotated[Path, typer.Argument(help="dedup stage output folder")],
                 top: Annotated[int, typer.Option(help="how many clusters, largest first")] = 20,
                 lines: Annotated[int, typer.Option(help="non-empty lines of each text to show")] = 6) -> None:
    """The largest duplicate clusters: the kept text beside a removed one."""
    from rich.console import Console
    from rich.table import Table

    from dataflow.dedup.report import largest_clusters

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


def _head(text: str | None, lines: int) -> str:
    return "\n".join([line for line in (text or "").splitlines() if line.strip()][:lines])
