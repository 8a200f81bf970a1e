"""The pipeline config: one YAML file per run, one section per stage, every value defaulted.

    extract:
      keep_languages: [en, de]
      max_html_bytes: 1048576
    filter:
      thresholds: {gopher_word_count: {min_words: 80}}
    classify:
      model: models/quality.bin
      keep_top: 0.1
    dedup:
      threshold: 0.8
      keep: [quality, longest]

`dataflow config show` prints the resolved file with all defaults filled in.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.config import StrictModel, load_config
from dataflow.classify import ClassifyConfig
from dataflow.decontaminate.batches import DecontaminateConfig
from dataflow.dedup.batches import DedupConfig
from dataflow.extract.records import ExtractConfig
from dataflow.filters.config import FilterConfig
from dataflow.mix.write import MixConfig
from dataflow.tokenize.encode import TokenizeConfig
from dataflow.tokenize.tokenizer import TokenizerTrainConfig


class PipelineConfig(StrictModel):
    """All stage settings of one pipeline run."""

    extract: ExtractConfig = ExtractConfig()
    """WARC records to documents: extraction, decoding and language ID."""
    filter: FilterConfig = FilterConfig()
    """Heuristic quality rules (Gopher, C4, FineWeb, degenerate text) over documents."""
    dedup: DedupConfig = DedupConfig()
    """Exact, URL and MinHash-LSH near-duplicate removal."""
    classify: ClassifyConfig = ClassifyConfig()
    """fastText quality scores and selection by score threshold or top fraction."""
    decontaminate: DecontaminateConfig = DecontaminateConfig()
    """Benchmark test text found by n-gram matching: dropped, excised or annotated, and reported per item."""
    tokenizer: TokenizerTrainConfig = TokenizerTrainConfig()
    """`dataflow tokenizer train`: byte-level BPE on a seeded sample of documents."""
    tokenize: TokenizeConfig = TokenizeConfig()
    """Documents to one source's token datasets (train and validation splits)."""
    mix: MixConfig = MixConfig()
    """Token datasets and a mixture file to sampled, shuffled, sharded sequences."""


def load_pipeline_config(path: str | Path | None) -> PipelineConfig:
    return load_config(PipelineConfig, path)
