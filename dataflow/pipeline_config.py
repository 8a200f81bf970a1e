"""The pipeline config: one YAML file per run, one section per stage, every value defaulted.

    extract:
      keep_languages: [en, de]
      max_html_bytes: 1048576

`dataflow config show` prints the resolved file with all defaults filled in.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.config import StrictModel, load_config
from dataflow.decontaminate import DecontaminateConfig
from dataflow.extract import ExtractConfig


class PipelineConfig(StrictModel):
    """All stage settings of one pipeline run."""

    extract: ExtractConfig = ExtractConfig()
    """WARC records to documents: extraction, decoding and language ID."""
    decontaminate: DecontaminateConfig = DecontaminateConfig()
    """Benchmark test text found by n-gram matching: dropped, excised or annotated, and reported per item."""


def load_pipeline_config(path: str | Path | None) -> PipelineConfig:
    return load_config(PipelineConfig, path)
