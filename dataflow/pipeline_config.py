"""The pipeline config: one YAML file per run, one section per stage, every value defaulted.

    extract:
      keep_languages: [en, de]
      max_html_bytes: 1048576
    dedup:
      threshold: 0.8
      keep: [quality, longest]

`dataflow config show` prints the resolved file with all defaults filled in.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.config import StrictModel, load_config
from dataflow.dedup import DedupConfig
from dataflow.extract import ExtractConfig


class PipelineConfig(StrictModel):
    """All stage settings of one pipeline run."""

    extract: ExtractConfig = ExtractConfig()
    """WARC records to documents: extraction, decoding and language ID."""
    dedup: DedupConfig = DedupConfig()
    """Exact, URL and MinHash-LSH near-duplicate removal."""


def load_pipeline_config(path: str | Path | None) -> PipelineConfig:
    return load_config(PipelineConfig, path)
