"""Streaming accumulators: figures over inputs far larger than memory, one batch at a time.

- `NumericColumn`: exact count, nulls, min, max and mean; a histogram from a uniform sample of
  at most `max_values` values (the bottom-k of seeded random keys, which is a uniform sample
  without replacement and merges batch by batch), exact when fewer values exist.
- `TopValues`: counts per value, pruned to the most frequent half whenever it holds more
  than `max_keys` keys (Misra and Gries 1982, "Finding repeated elements"): memory stays
  bounded on high-cardinality columns (domains), and a pruned table says its counts are
  lower bounds.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from dataflow.inspect.report import Histogram, Table


class NumericColumn:
    def __init__(self, seed: int = 0, max_values: int = 100_000):
        self.rng = np.random.default_rng(seed)
        self.max_values = max_values
        self.count = self.nulls = 0
        self.total = 0.0
        self.low, self.high = np.inf, -np.inf
        self.keys = np.zeros(0)
        self.values = np.zeros(0)

    def add(self, values: np.ndarray, nulls: int = 0) -> None:
        """Non-null values of one batch, and how many nulls it had."""
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        self.nulls += nulls
        if not values.size:
            return
        self.count += values.size
        self.total += float(values.sum())
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))
        keys = np.concatenate([self.keys, self.rng.random(values.size)])
        values = np.concatenate([self.values, values])
        if keys.size > self.max_values:
            keep = np.argpartition(keys, self.max_values)[:self.max_values]
            keys, values = keys[keep], values[keep]
        self.keys, self.values = keys, values

    def histogram(self, bins: int = 20) -> Histogram:
        """Equal-width bins, or log-spaced ones for a long-tailed non-negative column (lengths:
        max over 100 times min), whose mass would otherwise all sit in the first bin."""
        if not self.count:
            return Histogram(edges=[], counts=[], count=0, nulls=self.nulls, min=None, max=None, mean=None)
        if self.high == self.low:
            edges = np.array([self.low, self.low + 1.0])
        elif self.low >= 0 and self.high > 100 * max(self.low, 1.0):
            edges = np.geomspace(max(self.low, 1.0), self.high, bins + 1)
            edges[0] = self.low
        else:
            edges = np.linspace(self.low, self.high, bins + 1)
        counts, edges = np.histogram(self.values, bins=edges)
        return Histogram(edges=[float(edge) for edge in edges], counts=counts.tolist(), count=self.count,
                         nulls=self.nulls, min=self.low, max=self.high, mean=self.total / self.count,
                         sampled_from=self.count if self.count > self.values.size else None)


class TopValues:
    def __init__(self, max_keys: int = 100_000):
        self.max_keys = max_keys
        self.counts: Counter = Counter()
        self.weights: Counter = Counter()
        self.pruned = False

    def add(self, values: list, weights: list | None = None) -> None:
        self.counts.update(values)
        if weights is not None:
            for value, weight in zip(values, weights):
                self.weights[value] += weight
        if len(self.counts) > self.max_keys:
            keep = dict(self.counts.most_common(self.max_keys // 2))
            self.counts = Counter(keep)
            self.weights = Counter({key: self.weights[key] for key in keep}) if self.weights else self.weights
            self.pruned = True

    def table(self, top: int, weight_name: str | None = None) -> Table:
        total = sum(self.counts.values())
        columns = ["value", "rows", "share"] + ([weight_name] if weight_name else [])
        rows = [["(null)" if value is None else value, count, round(count / total, 4) if total else 0.0]
                + ([self.weights[value]] if weight_name else []) for value, count in self.counts.most_common(top)]
        if len(self.counts) > top:
            rest = total - sum(row[1] for row in rows)
            rows.append([f"({len(self.counts) - top} more)", rest, round(rest / total, 4)]
                        + ([sum(self.weights.values()) - sum(row[3] for row in rows)] if weight_name else []))
        note = "counts are lower bounds: rare values were pruned to bound memory" if self.pruned else None
        return Table(columns=columns, rows=rows, note=note)
