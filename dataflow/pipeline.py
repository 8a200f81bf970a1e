"""The pipeline config: one YAML file per run, one section per stage, every value defaulted.

    input: [s3a://commoncrawl/crawl-data/CC-MAIN-2024-22/warc.paths.gz]
    output: s3a://my-bucket/run1
    sources:                       # token sources mixed at the end, each from some languages
      en: {languages: [en], weight: 0.7}
      de: {languages: [de], weight: 0.3}
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

`dataflow config show` prints the resolved file with all defaults filled in; examples/pipeline.yaml
is a commented one for a real crawl. `dataflow run pipeline --config FILE` runs it (jobs/pipeline.py),
its flags overriding the file's top-level keys; each stage job reads its own section.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from dataflow.config import StrictModel, load_config
from dataflow.classify import ClassifyConfig
from dataflow.decontaminate.batches import DecontaminateConfig
from dataflow.dedup.batches import DedupConfig
from dataflow.extract.records import ExtractConfig
from dataflow.filters.config import FilterConfig
from dataflow.mix.write import MixConfig
from dataflow.tokenize.encode import TokenizeConfig
from dataflow.tokenize.tokenizer import TokenizerTrainConfig


class SourceSelection(StrictModel):
    """One token source of the pipeline's mixture: the clean documents of some languages."""

    languages: list[str] = []
    """Languages (extract's `language` column) whose documents make this source; empty: every document."""
    weight: float = Field(1.0, gt=0)
    """Share of the mixture's tokens taken from this source, relative to the other weights."""
    max_epochs: float = Field(1.0, gt=0)
    """Most passes over this source's training tokens; the mixture's size is the largest that no source exceeds."""


class PipelineConfig(StrictModel):
    """All settings of one pipeline run: where it reads and writes, and one section per stage."""

    input: list[str] = []
    """WARC inputs: globs, folders, text files of paths or warc.paths.gz listings (`--input` overrides)."""
    output: str | None = None
    """Run folder, one sub-folder per stage (`--output` overrides); token outputs need a path every executor sees."""
    sources: dict[str, SourceSelection] = Field(default_factory=lambda: {"web": SourceSelection()}, min_length=1)
    """Token sources tokenized from the clean documents and mixed: name -> languages, weight, max_epochs."""
    seq_len: int = Field(1024, gt=0)
    """Tokens per mixed sequence."""
    seed: int = 1234
    """Seed of the mixture's sampling."""

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
