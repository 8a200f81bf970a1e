"""Data variants the variant search makes itself: a selection of a stage output, re-tokenised.

Kept rows carry what the stages measured (`filter_values`, `quality_score`, ...), so the
variants users ask for are selections, not pipeline reruns (issue 12):

    variants:
      strict-words: {derive: {web: {stage: out/filtered, where: "filter_values['gopher_mean_word_length'] < 8"}}}
      dedup-off:    {derive: {web: {stage: out/filtered}}}           # the stage before dedup
      top-20pct:    {derive: {web: {stage: out/clean, top_fraction: 0.2}}}

Each derived source is tokenised with the settings and tokenizer of the base mixture's source
of that name (read from its stats.json), so its token ids mix and compare with the others,
into `<out_dir>/derived/<variant>/<source>`, a stage output of the contract (written under a
temporary name, renamed into place, skipped on rerun when complete and current). This module
checks and plans without Spark; `derived_tokens.py` does the work in one Spark application.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from dataflow.config import StrictModel
from dataflow.errors import ConfigError
from dataflow.mix.mixture import Mixture
from dataflow.shards import open_split
from dataflow.stage import STATS_FILE, SUCCESS_FILE
from dataflow.tokenize.encode import TokenizeConfig
from trainer.search.engine.layout import DERIVED_DIR


class DerivedSource(StrictModel):
    """Rows of a stage output, optionally filtered and cut to a top share, tokenised as a source."""

    stage: str
    """Stage output folder (or Parquet folder) whose kept rows are taken: e.g. out/filtered (before dedup: dedup
    off), out/clean (after classify)."""
    where: str | None = None
    """Spark SQL condition on its columns, e.g. `filter_values['gopher_mean_word_length'] < 8` (a stricter filter
    threshold); None takes every row."""
    top_fraction: float | None = Field(default=None, gt=0, le=1)
    """Keep this share of the (where-selected) rows, ceil(share x rows), with the highest `score_column`, ties
    broken by id: the classifier's top-k%. None keeps them all."""
    score_column: str = "quality_score"
    """Column that top_fraction ranks by (the classify stage's score)."""


@dataclass(frozen=True)
class DerivedPlan:
    """One derived source to write: the variant and source it is for, where it goes, how it is tokenised."""

    variant: str
    source: str
    derive: DerivedSource
    output: Path
    tokenize: TokenizeConfig
    """The base source's tokenize settings, its name kept."""
    tokenizer_sha256: str
    """The base source's tokenizer; the file must still have it."""

    @property
    def field(self) -> str:
        return f"variants.{self.variant}.derive.{self.source}"


def plan_derived(out_dir: str | Path, variants: dict[str, Any], base: Mixture) -> list[DerivedPlan]:
    """Every derived source of `variants`, checked without Spark: the stage folder exists and the base
    source of that name was written by `dataflow run tokenize` (its settings and tokenizer are known)."""
    plans = []
    for name, variant in variants.items():
        for source, derive in variant.derive.items():
            field = f"variants.{name}.derive.{source}"
            if source not in base.sources:
                raise ConfigError(f"{field}: {source} is not a source of the base mixture ({', '.join(base.sources)})")
            if not Path(derive.stage).is_dir():
                raise ConfigError(f"{field}.stage: {derive.stage} does not exist; give a stage output folder "
                                  "(e.g. out/filtered, out/clean)")
            tokenize, sha256 = base_tokenize_settings(base.sources[source].path, field)
            plans.append(DerivedPlan(variant=name, source=source, derive=derive,
                                     output=Path(out_dir).resolve() / DERIVED_DIR / name / source,
                                     tokenize=tokenize, tokenizer_sha256=sha256))
    return plans


def base_tokenize_settings(path: str, field: str) -> tuple[TokenizeConfig, str]:
    """The tokenize config and tokenizer sha256 the base source at `path` was written with."""
    stats = Path(path) / STATS_FILE
    if not (Path(path) / SUCCESS_FILE).is_file() or not stats.is_file():
        raise ConfigError(f"{field}: the base source {path} is not a complete `dataflow run tokenize` output (no "
                          f"{STATS_FILE} and {SUCCESS_FILE}), so the tokenizer to re-tokenise with is unknown; write "
                          "the base source with `dataflow run tokenize`")
    tokenizer = open_split(path, "train").manifest.tokenizer  # its path resolved when the source was written
    if not Path(tokenizer.path).is_file():
        raise ConfigError(f"{field}: the tokenizer {tokenizer.path} of the base source {path} is gone; the derived "
                          "source must be tokenised with it")
    recorded = TokenizeConfig.model_validate(json.loads(stats.read_text())["config"])
    return recorded.model_copy(update={"tokenizer": tokenizer.path}), tokenizer.sha256


def derived_rows(stats: dict[str, Any], plan: DerivedPlan) -> dict[str, Any]:
    """What the summary and `dataflow inspect` show of one derived source, from its stats.json."""
    return {"variant": plan.variant, "source": plan.source, "stage": plan.derive.stage, "where": plan.derive.where,
            "top_fraction": plan.derive.top_fraction, "rows": stats["rows_in"], "documents": stats["documents"],
            "tokens": stats["tokens"], "train_tokens": stats["splits"]["train"]["tokens"], "path": str(plan.output)}
