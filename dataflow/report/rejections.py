"""Section: rows each stage rejected per rule (stats.json), with three escaped example snippets
per rule read from its rejected/ folder by inspect's early-stopping scan."""

from __future__ import annotations

from dataflow.inspect.parquet import SNIPPET_CHARS, rejection_examples
from dataflow.inspect.report import Table
from dataflow.report import html, plots
from dataflow.report.stages import RunStages
from dataflow.schema import REJECT_VALUE
from dataflow.stage import REJECTED_DIR

EXAMPLES = 3
TOP_RULES = 25


def rejections_section(run: RunStages) -> html.Section:
    section = html.Section("rejections", "Rejections per rule")
    found = False
    for folder, stats in run.order:
        reasons = sorted((stats.get("rejected_by_reason") or {}).items(), key=lambda item: -item[1])
        if not reasons:
            continue
        found = True
        rows_in = stats.get("rows_in") or 1
        section.add(html.heading(f"{stats['stage']} ({folder.name}): {stats.get('rows_rejected', 0):,} of "
                                 f"{rows_in:,} rows rejected"))
        shown = reasons[:TOP_RULES]
        section.add(html.figure(plots.bars([r for r, _ in shown], [n for _, n in shown], "rows rejected"),
                                f"rows rejected by each rule of {stats['stage']}"))
        skipped = set(stats.get("not_written_reasons") or ())
        examples = (rejection_examples(folder / REJECTED_DIR, {r for r, _ in reasons} - skipped, EXAMPLES)
                    if (folder / REJECTED_DIR).is_dir() else {})
        rows = [[reason, count, round(count / rows_in, 4), _examples(examples.get(reason, []), reason in skipped)]
                for reason, count in reasons]
        section.add(html.table(Table(["rule", "rows", "share of input", "examples (value: text)"], rows),
                               snippets=("examples (value: text)",)))
    if not found:
        section.add(html.text("no stage of this run rejected rows", "empty"))
    return section


def _examples(rows: list[dict], not_written: bool) -> str:
    if not_written:
        return "(not written to rejected/: not documents)"
    return "\n".join(f"[{row.get(REJECT_VALUE) or '-'}] " + " ".join((row.get("text") or "").split())[:SNIPPET_CHARS]
                     for row in rows) or "-"
