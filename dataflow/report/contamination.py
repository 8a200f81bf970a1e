"""Section: benchmark contamination per benchmark (items leaked, documents, the action taken),
from the decontaminate stage's contamination.json and stats.json."""

from __future__ import annotations

from dataflow.decontaminate.report import read_report
from dataflow.inspect.report import Table
from dataflow.report import html, plots
from dataflow.report.stages import RunStages

LEAKED_SHOWN = 5


def contamination_section(run: RunStages) -> html.Section:
    section = html.Section("contamination", "Benchmark contamination")
    found = run.first("decontaminate")
    if found is None:
        return section.add(html.text("no decontaminate stage in this run", "empty"))
    folder, stats = found
    report = read_report(str(folder))
    action = report["settings"]["action"]
    removed = stats.get("rejected_by_reason") or {}
    section.add(html.text(f"action: {action}; {', '.join(f'{r} {n:,}' for r, n in removed.items()) or 'nothing removed'}"
                          f"; {stats.get('rows_split', 0):,} documents cut into pieces" if action == "excise" else
                          f"action: {action}; documents: "
                          + (", ".join(f"{r} {n:,}" for r, n in removed.items()) or "none removed")))
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
