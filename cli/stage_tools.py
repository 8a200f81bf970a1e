"""Per-stage tools: `dataflow filters calibrate`, `benchmarks list` and `dedup near`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dataflow.errors import UserError


benchmarks_app = typer.Typer(no_args_is_help=True, help="Benchmark test sets for decontamination.")
dedup_app = typer.Typer(no_args_is_help=True, help="Duplicate look-ups in a dedup stage output.")
filters_app = typer.Typer(no_args_is_help=True, help="Filter rules: per-language thresholds from reference text.")


@filters_app.command("calibrate")
def filters_calibrate(
        reference: Annotated[list[str], typer.Option(help="LANG=PATH: reference text of a language (text, JSONL or "
                                                          "Parquet); repeatable")],
        output: Annotated[Path, typer.Option(help="YAML file for the proposed `filter: languages:` thresholds")],
        percentile: Annotated[float, typer.Option(help="share of the reference (%) a proposed bound may reject")] = 1.0,
        doc_chars: Annotated[int, typer.Option(help="characters per document when a text file is cut into "
                                                    "documents")] = 2000,
        tighten: Annotated[bool, typer.Option(help="also tighten bounds the reference stays far inside "
                                                   "[default: only loosen]")] = False,
        config: Annotated[Optional[Path],
                          typer.Option(help="pipeline YAML file (its filter: section)")] = None) -> None:
    """Propose per-language thresholds at a percentile of each rule's values on reference text (FineWeb-2's idea)."""
    from dataflow.filters.calibrate import calibrate, format_table, overrides_yaml
    from dataflow.pipeline import load_pipeline_config

    references: dict[str, list[str]] = {}
    for item in reference:
        language, sep, path = item.partition("=")
        if not sep or not language or not path:
            raise UserError(f"--reference {item!r}: give LANG=PATH, e.g. --reference zh=zh_sentences.txt.gz")
        references.setdefault(language, []).append(path)
    result = calibrate(references, load_pipeline_config(config).filter, percentile, doc_chars, tighten=tighten)
    output.write_text(overrides_yaml(result), encoding="utf-8")
    typer.echo(format_table(result) + f"\nwrote {output} (use it with --config, or merge it into yours)")


@benchmarks_app.command("list")
def benchmarks_list(registry: Annotated[Optional[list[Path]],
                                        typer.Option(help="user registry YAML; repeatable")] = None,
                    benchmarks_dir: Annotated[Optional[str],
                                              typer.Option(help="folder of the built-in registry's files")] = None,
                    config: Annotated[Optional[Path],
                                      typer.Option(help="pipeline YAML (its decontaminate section)")] = None) -> None:
    """The file formats the loader reads and every registry entry, with whether its files are there."""
    from dataflow.decontaminate.benchmarks import FORMATS, describe_registry, load_registry
    from dataflow.pipeline import load_pipeline_config

    settings = load_pipeline_config(config).decontaminate
    registries = [*settings.registries, *map(str, registry or [])]
    specs = load_registry(registries, benchmarks_dir or settings.benchmarks_dir)
    typer.echo(f"formats: {', '.join(sorted(set(FORMATS)))} (each also gzip-compressed)")
    typer.echo(f"registries: built-in{''.join(', ' + path for path in registries)}\n")
    for line in describe_registry(specs):
        typer.echo(line)


@dedup_app.command("near")
def dedup_near(doc_id: Annotated[str, typer.Argument(help="document id")],
               path: Annotated[Path, typer.Argument(help="dedup stage output folder")],
               limit: Annotated[int, typer.Option(help="most rows to list")] = 20) -> None:
    """Near duplicates of one document: its cluster and its LSH candidates, with Jaccard similarities."""
    from dataflow.dedup.report import near_duplicates

    target, found = near_duplicates(str(path), doc_id, limit)
    typer.echo(f"{doc_id}: {target.reason or 'kept'}, cluster {target.cluster or '(none)'}")
    if not found:
        typer.echo("no near duplicates or LSH candidates")
        return
    typer.echo(f"{'exact J':>8} {'MinHash J':>10}  {'cluster':<8} {'row':<16} id")
    for member in found:
        same = "same" if target.cluster and member.cluster == target.cluster else "other"
        typer.echo(f"{member.exact:8.3f} {member.estimated:10.3f}  {same:<8} {member.reason or 'kept':<16} {member.id}")
