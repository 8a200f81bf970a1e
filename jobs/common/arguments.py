"""Command-line arguments shared by every stage job: output, config file, force, field flags; and the typed
options they parse into.

Each job has one typed entry, `run(args: <Options>, config: <its config section>)`: its `main(argv)`
parses argv into these options and the section (file, then flags over it), and the pipeline
(jobs/pipeline.py) builds them directly from its own config, so no stage is driven by argv strings.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from pydantic import BaseModel

from dataflow.config import add_model_flags, flag_overrides, with_overrides
from dataflow.pipeline import load_pipeline_config
from jobs.common.documents_in import ColumnMapping, column_mapping


@dataclass(frozen=True, kw_only=True)
class StageOptions:
    """Where a stage writes, and whether it recomputes a complete, current output."""

    output: str
    """The stage folder (local path, hdfs://, s3a://; the token stages need a path every executor sees)."""
    force: bool = False
    """Recompute even when the output is complete and current."""


@dataclass(frozen=True, kw_only=True)
class DocumentsOptions(StageOptions):
    """A stage that reads one documents input (a stage output, Parquet, JSON Lines or a dataset folder)."""

    input: str
    """The documents to read (docs/formats.md)."""
    columns: ColumnMapping = ColumnMapping()
    """Which columns of a foreign dataset hold the text and the id."""


def documents_options(args: argparse.Namespace) -> DocumentsOptions:
    """The parsed --input, --output, --force and column flags, typed."""
    columns = column_mapping(args) if hasattr(args, "text_column") else ColumnMapping()
    return DocumentsOptions(input=args.input, output=args.output, force=args.force, columns=columns)


def stage_parser(stage: str, description: str, config_model: type[BaseModel], *, prog: str | None = None,
                 output_help: str = "output stage folder (local path, hdfs://, s3a://)",
                 force_help: str = "recompute even if the output is complete and current",
                 skip: frozenset[str] = frozenset()) -> argparse.ArgumentParser:
    """A parser with --output, --config, --force and one flag per field of `config_model`
    (but those in `skip`, which the job adds in its own form)."""
    parser = argparse.ArgumentParser(prog=prog or f"dataflow run {stage}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help=output_help)
    parser.add_argument("--config", help=f"pipeline YAML file; its `{stage}:` section configures this stage")
    parser.add_argument("--force", action="store_true", help=force_help)
    add_model_flags(parser, config_model, skip=skip)
    return parser


def stage_config(args: argparse.Namespace, stage: str, config_model: type[BaseModel]):
    """The stage's config section from --config, with flags applied over it."""
    config = getattr(load_pipeline_config(args.config), stage)
    return with_overrides(config, flag_overrides(args, config_model))
