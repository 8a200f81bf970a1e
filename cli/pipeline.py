"""`dataflow run`, `export`, `sample-warcs`, `report` and `config`: the pipeline's stages, its input and its outputs.

`run` and `export` hand their arguments to a Spark job's `main()`, so `spark-submit jobs/<stage>.py ARGS` and
`dataflow run <stage> ARGS` take the same flags.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from dataflow.errors import UserError
from dataflow.stages import STAGES as REGISTRY


#: Stage name -> job module (the registry's stages, then the whole pipeline); `dataflow run NAME ARGS`
#: calls `<module>.main(ARGS)`.
STAGES = {**{stage.name: stage.job for stage in REGISTRY}, "pipeline": "jobs.pipeline"}


#: Top-level commands (merged into `dataflow` without a group name).
app = typer.Typer()
config_app = typer.Typer(no_args_is_help=True, help="Pipeline configuration.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def run(ctx: typer.Context, stage: Annotated[str, typer.Argument(help=f"one of: {', '.join(STAGES)}")]) -> None:
    """Run a pipeline stage as a Spark job (local[*] here; the same job file runs under spark-submit).

    Arguments after STAGE go to the job; `dataflow run STAGE --help` lists them.
    """
    if stage in ("--help", "-h"):  # the option is off so that `STAGE --help` reaches the job
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    if stage not in STAGES:
        raise UserError(f"unknown stage {stage!r}; known stages: {', '.join(STAGES)}")
    code = importlib.import_module(STAGES[stage]).main(list(ctx.args))
    raise typer.Exit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def export(ctx: typer.Context) -> None:
    """Export a stage's documents as JSON Lines or a Hugging Face dataset folder (jobs/export.py).

    All arguments go to the job: `dataflow export --help` lists them (STAGE_OUTPUT, --format, --output, ...).
    """
    from jobs.export import main as export_main

    raise typer.Exit(export_main(list(ctx.args)))


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


@app.command()
def report(folder: Annotated[Path, typer.Argument(help="pipeline run folder (the pipeline's --output)")],
           output: Annotated[Optional[Path],
                             typer.Option(help="HTML file to write [default: FOLDER/report.html]")] = None,
           runs: Annotated[Optional[list[Path]], typer.Option(help="training run folder (metrics.jsonl); "
                                                                   "repeatable, or a shell glob")] = None,
           search: Annotated[Optional[list[Path]], typer.Option(help="mixture search folder: its PNG plots; "
                                                                     "repeatable")] = None) -> None:
    """One self-contained HTML file: funnel, rejections, distributions, duplicates, contamination, mixture, training."""
    from dataflow.report import write_report

    typer.echo(f"wrote {write_report(folder, output, runs or [], search or [])}")


@config_app.command("show")
def config_show(config: Annotated[Optional[Path], typer.Option(help="pipeline YAML file")] = None) -> None:
    """Print the resolved pipeline config, every default filled in."""
    import yaml

    from dataflow.pipeline import load_pipeline_config

    typer.echo(yaml.safe_dump(load_pipeline_config(config).model_dump(mode="json"), sort_keys=False))
