"""The contamination report: which benchmark items leaked, into which documents, as what text.

The decontaminate stage writes it next to its rows:

    contamination.json   per benchmark: items, items skipped (too short to index), items
                         found, documents affected, and per leaked item its id, the number
                         and ids of the documents it was found in, and the matched text
    contamination/       the per-item rows as Parquet (benchmark, item, documents,
                         document_ids, matched_text), for an evaluator to join on item ids
                         and score the clean subset

`dataflow inspect contamination PATH` prints it. The Spark aggregation that fills it is in
jobs/common/contamination_report.py; this module assembles, reads and formats it.
"""

from __future__ import annotations

import json
import os
import textwrap

from dataflow.errors import InputError

REPORT_FILE = "contamination.json"
REPORT_TABLE = "contamination"


def assemble_report(index_stats: dict, benchmarks: dict[str, dict], leaked: list[dict], settings: dict) -> dict:
    """contamination.json from the index statistics, per-benchmark counts and per-item rows.

    `benchmarks` maps a benchmark to its `items_found` and `documents`; `leaked` holds one row
    per leaked item (benchmark, item, documents, document_ids, matched_text).
    """
    report = {"settings": settings, "index": {k: v for k, v in index_stats.items() if k != "benchmarks"},
              "benchmarks": {}}
    for name, counts in index_stats["benchmarks"].items():
        found = benchmarks.get(name, {})
        items = sorted((row for row in leaked if row["benchmark"] == name), key=lambda row: (-row["documents"],
                                                                                             row["item"]))
        report["benchmarks"][name] = {
            **counts,
            "items_found": found.get("items_found", 0),
            "documents": found.get("documents", 0),
            "leaked": [{key: row[key] for key in ("item", "documents", "document_ids", "matched_text")}
                       for row in items],
        }
    return report


def read_report(stage_dir: str) -> dict:
    """The contamination.json of a decontaminate output folder."""
    path = os.path.join(stage_dir, REPORT_FILE)
    if not os.path.isfile(path):
        raise InputError(f"no {REPORT_FILE} in {stage_dir}: is it a complete `dataflow run decontaminate` output?")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def format_report(report: dict, benchmark: str | None = None, examples: int = 3) -> str:
    """A per-benchmark table, then up to `examples` leaked items per benchmark with their text."""
    names = list(report["benchmarks"])
    if benchmark is not None:
        if benchmark not in report["benchmarks"]:
            raise InputError(f"benchmark {benchmark!r} is not in this report; it has: {', '.join(names)}")
        names = [benchmark]
    index = report["index"]
    lines = [f"index: {index['entries']:,} n-gram entries, {index['bytes'] / 2**20:.1f} MiB, "
             f"sizes {index['ngram_sizes']}, built in {index['build_seconds']:.1f}s",
             "", f"{'benchmark':<18}{'items':>8}{'skipped':>9}{'found':>7}{'documents':>11}"]
    for name in names:
        row = report["benchmarks"][name]
        lines.append(f"{name:<18}{row['items']:>8}{row['items_skipped']:>9}{row['items_found']:>7}{row['documents']:>11}")
    for name in names:
        for leak in report["benchmarks"][name]["leaked"][:examples]:
            shown = ", ".join(leak["document_ids"][:3]) + (", ..." if leak["documents"] > 3 else "")
            text = textwrap.shorten(" ".join(leak["matched_text"].split()), 300)
            lines += ["", f"{name}:{leak['item']} in {leak['documents']} document(s): {shown}", f"  {text}"]
    return "\n".join(lines)
