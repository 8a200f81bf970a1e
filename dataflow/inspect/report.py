"""What an inspection finds, independent of how it is shown: `--json` prints `Report.to_json()`,
the terminal gets `render.render_text(report)`.

A report is a summary (key -> value), tables (breakdowns, per-source shares, per-shard
figures, the funnel), histograms, and samples (rows or decoded texts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    note: str | None = None
    """A caveat the reader must see (e.g. counts of a pruned top list are lower bounds)."""


@dataclass
class Histogram:
    edges: list[float]
    """Bin edges, len(counts) + 1 of them; the last bin includes its right edge."""
    counts: list[int]
    count: int
    """Non-null values seen."""
    nulls: int
    min: float | None
    max: float | None
    mean: float | None
    sampled_from: int | None = None
    """When the bins come from a uniform sample: how many values it was drawn from."""


@dataclass
class Report:
    kind: str
    """What the path holds: stage, parquet, token-source, token-dataset, mixture, tokenizer, pipeline."""
    path: str
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
