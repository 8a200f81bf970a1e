"""Section: the dedup stage's cluster-size distribution and its largest clusters, each with the
document it kept beside one it removed (`dataflow inspect dups` reads them the same way)."""

from __future__ import annotations

from collections import Counter

import pyarrow.compute as pc

from dataflow.dedup.report import largest_clusters
from dataflow.inspect.parquet import SNIPPET_CHARS, open_parquet
from dataflow.inspect.report import Table
from dataflow.report import html, plots
from dataflow.report.stages import RunStages, stage_section
from dataflow.stage import DATA_DIR

LARGEST = 5
CLUSTER_SIZE = "dup_cluster_size"


def duplicates_section(run: RunStages) -> html.Section:
    section, found = stage_section(run, "dedup", "duplicates", "Duplicate clusters")
    if found is None:
        return section
    folder, stats = found
    reasons = {reason: count for reason, count in (stats.get("rejected_by_reason") or {}).items()}
    section.add(html.text(f"{stats.get('rows_in', 0):,} rows in, {stats.get('rows_out', 0):,} kept; removed: "
                          + (", ".join(f"{reason} {count:,}" for reason, count in sorted(reasons.items())) or "none")))
    sizes = cluster_sizes(folder)
    if not sizes:
        return section.add(html.text("no duplicate cluster: every kept document is unique", "empty"))
    ordered = sorted(sizes.items())
    section.add(html.figure(plots.bars([f"{size} rows" for size, _ in ordered], [n for _, n in ordered],
                                       "clusters", log=max(sizes.values()) > 100),
                            "clusters by size (a cluster keeps one document)"))
    rows = []
    for cluster in largest_clusters(str(folder), LARGEST):
        removed = cluster.removed[0] if cluster.removed else None
        rows.append([cluster.id, cluster.size, cluster.kept.id, _snippet(cluster.kept.text),
                     f"{removed.reason}: {_snippet(removed.text)}" if removed else "-"])
    section.add(html.heading(f"the {len(rows)} largest clusters"),
                html.table(Table(["cluster", "rows", "kept id", "kept text", "a removed text"], rows),
                           snippets=("kept text", "a removed text")))
    return section


def cluster_sizes(folder) -> Counter:
    """Clusters per size: each cluster's kept row carries its size; one column, batch by batch."""
    sizes: Counter = Counter()
    dataset = open_parquet(folder / DATA_DIR)
    if CLUSTER_SIZE not in dataset.schema.names:
        return sizes
    for batch in dataset.to_batches(columns=[CLUSTER_SIZE]):
        counts = pc.value_counts(pc.drop_null(batch.column(CLUSTER_SIZE)))
        for item in counts.to_pylist():
            if item["values"] > 1:
                sizes[item["values"]] += item["counts"]
    return sizes


def _snippet(value: str | None) -> str:
    return " ".join((value or "").split())[:SNIPPET_CHARS]
