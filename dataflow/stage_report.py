"""What a stage output holds, for people: counts per reason from stats.json and example rows.

Backs `dataflow inspect PATH [--rejected]`. Counts come from stats.json (exact, written by the
stage); examples are streamed from rejected/ with a pyarrow dataset scan that stops once every
reason has its examples, so a large rejected/ costs a few batches, not a full read.
"""

from __future__ import annotations

import os

import pyarrow.dataset as ds

from dataflow.schema import REJECT_REASON, REJECT_VALUE
from dataflow.stage import REJECTED_DIR, read_stats

_EXAMPLE_COLUMNS = ("id", "url", REJECT_REASON, REJECT_VALUE, "text")


def rejection_examples(stage_dir: str, per_reason: int = 3) -> dict[str, list[dict]]:
    """Up to `per_reason` rejected rows for each reason present in rejected/."""
    folder = os.path.join(stage_dir, REJECTED_DIR)
    if per_reason <= 0 or not os.path.isdir(folder):
        return {}
    wanted = set(read_stats(stage_dir)["rejected_by_reason"])
    dataset = ds.dataset(folder, format="parquet", ignore_prefixes=[".", "_"])
    columns = [name for name in _EXAMPLE_COLUMNS if name in dataset.schema.names]
    examples: dict[str, list[dict]] = {}
    for batch in dataset.to_batches(columns=columns, batch_size=4096):
        for row in batch.to_pylist():
            found = examples.setdefault(row[REJECT_REASON], [])
            if len(found) < per_reason:
                found.append(row)
        if all(len(examples.get(reason, ())) >= per_reason for reason in wanted):
            break
    return examples


def format_report(stage_dir: str, examples: dict[str, list[dict]], snippet_chars: int = 160) -> str:
    """Counts per reason (with shares of the rows in), extra stage figures, and examples."""
    stats = read_stats(stage_dir)
    rows_in = max(1, stats["rows_in"])
    lines = [f"{stage_dir}  stage={stats['stage']}  rows in {stats['rows_in']:,}, "
             f"kept {stats['rows_out']:,} ({stats['rows_out'] / rows_in:.1%}), rejected {stats['rows_rejected']:,}"]
    by_reason = sorted(stats["rejected_by_reason"].items(), key=lambda item: -item[1])
    if by_reason:
        lines.append("rejected by reason:")
    width = max((len(reason) for reason, _ in by_reason), default=0)
    for reason, count in by_reason:
        lines.append(f"  {reason:<{width}}  {count:>8,}  {count / rows_in:6.1%}")
        for row in examples.get(reason, []):
            text = " ".join((row.get("text") or "").split())[:snippet_chars]
            lines.append(f"      {row['id']}  value={row.get(REJECT_VALUE)}  {row.get('url') or ''}")
            lines.append(f"        {text!r}")
    line_rules = stats.get("extra", {}).get("line_rules", {})
    if line_rules:
        lines.append("line rules, removed from the kept documents:")
    for name, figures in line_rules.items():
        lines.append(f"  {name:<{width}}  {figures['lines']:>8,} lines  {figures['chars']:>12,} characters")
    return "\n".join(lines)
