"""The pipeline config: one YAML file per run, one section per stage, every value defaulted.

    extract:
      keep_languages: [en, de]
      max_html_bytes: 1048576

`dataflow config show` prints the resolved file with all defaults filled in.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.config import StrictModel, load_config
from dataflow.extract import ExtractConfig
from dataflow.mix import MixConfig
from dataflow.tokenization import TokenizeConfig
from dataflow.tokenizer import TokenizerTrainConfig


class PipelineConfig(StrictModel):
    """All stage settings of one pipeline run."""

    extract: ExtractConfig = ExtractConfig()
    """WARC records to documents: extraction, decoding and language ID."""
    tokenizer: TokenizerTrainConfig = TokenizerTrainConfig()
    """`dataflow tokenizer train`: byte-level BPE on a seeded sample of documents."""
    tokenize: TokenizeConfig = TokenizeConfig()
    """Documents to one source's token datasets (train and validation splits)."""
    mix: MixConfig = MixConfig()
    """Token datasets and a mixture file to sampled, shuffled, sharded sequences."""


def load_pipeline_config(path: str | Path | None) -> PipelineConfig:
    return load_config(PipelineConfig, path)
