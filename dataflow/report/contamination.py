"""Section: benchmark contamination per benchmark (items leaked, documents, the action taken),
from the decontaminate stage's contamination.json and stats.json."""

from __future__ import annotations

from dataflow.decontaminate.report import read_report
from dataflow.inspect.report import Table
from dataflow.report import html, plots
from dataflow.report.stages import RunStages, stage_section

LEAKED_SHOWN = 5


def contamination_section(run: RunStages) -> html.Section:
    section, found = stage_section(run, "decontaminate", "contamination", "Benchmark contamination")
    if found is None:
        return section
    folder, stats = found
    report = read_report(str(folder))
    removed = ", ".join(f"{reason} {count:,}" for reason, count in (stats.get("rejected_by_reason") or {}).items())
    split = f"; {stats['rows_split']:,} documents cut into pieces" if stats.get("rows_split") else ""
    section.add(html.text(f"action: {report['settings']['action']}; rows removed: {removed or 'none'}{split}"))
    benchmarks = report["benchmarks"]
    rows = [[name, figures.get("items", 0), figures["items_found"],
             round(figures["items_found"] / figures["items"], 4) if figures.get("items") else None,
             figures["documents"]] for name, figures in sorted(benchmarks.items())]
    section.add(html.table(Table(["benchmark", "items", "items leaked", "share leaked", "documents"], rows)))
    if rows:
        section.add(html.figure(plots.bars([row[0] for row in rows], [row[2] for row in rows], "items leaked"),
                                "test items found in the crawl, per benchmark"))
    leaked = [[name, item["item"], item["documents"], item["matched_text"]]
              for name, figures in sorted(benchmarks.items()) for item in figures["leaked"][:LEAKED_SHOWN]]
    if leaked:
        section.add(html.heading("leaked items (most documents first)"),
                    html.table(Table(["benchmark", "item", "documents", "matched text"], leaked),
                               snippets=("matched text",)))
    return section
