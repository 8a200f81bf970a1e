"""The `classify:` section of the pipeline config: which quality model, and how to select.

The model is a fastText classifier from `dataflow classifiers train` (classifiers/train.py).
Scoring adds `quality_score`, the model's probability that a document is like the positive
set; selection then keeps documents by a fixed score (`min_score`) or keeps the best
`keep_top` fraction, the cut-off found with Spark's approximate quantile over all scored
documents, or per language when `per_language` is set (so a language the model scores
lower is not wiped out). Without either, every document is kept and only annotated.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from dataflow.config import StrictModel


class ClassifyConfig(StrictModel):
    """Settings of the `classify` stage (quality scores and selection)."""

    model: str | None = None
    """fastText quality model file (from `dataflow classifiers train`); required to run the stage."""
    keep_top: float | None = Field(None, gt=0, le=1)
    """Keep this fraction of documents with the highest scores (e.g. 0.1); exclusive with min_score."""
    min_score: float | None = Field(None, ge=0, le=1)
    """Keep documents scoring at least this; exclusive with keep_top."""
    per_language: bool = False
    """Compute the keep_top cut-off per `language` instead of over all documents."""
    quantile_relative_error: float = Field(0.001, gt=0, lt=1)
    """Relative error of Spark's approximate quantile for keep_top (0.001: rank within 0.1%)."""

    @model_validator(mode="after")
    def _one_selection(self) -> ClassifyConfig:
        if self.keep_top is not None and self.min_score is not None:
            raise ValueError("give keep_top or min_score, not both")
        return self
