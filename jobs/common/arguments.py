"""Command-line arguments shared by every stage job: output, config file, force, field flags."""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from dataflow.config import add_model_flags, flag_overrides, with_overrides
from dataflow.pipeline import load_pipeline_config


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
