"""Section: the funnel, documents, bytes and (from tokenize on) tokens after each stage."""

from __future__ import annotations

from dataflow.inspect.funnel import funnel_table
from dataflow.report import html, plots
from dataflow.report.stages import RunStages


def funnel_section(run: RunStages) -> html.Section:
    section = html.Section("funnel", "Funnel")
    if not run.order:
        return section.add(html.text("no complete stage output in this folder", "empty"))
    data = funnel_table(run.order)
    section.add(html.table(data))
    rows = [dict(zip(data.columns, row)) for row in data.rows]
    labels = [f"{row['stage']} ({row['folder']})" for row in rows]
    documents = [(label, row["rows out"]) for label, row in zip(labels, rows) if row["rows out"] is not None]
    sized = [(label, row["bytes out"]) for label, row in zip(labels, rows) if row["bytes out"] is not None]
    tokens = [(label, row["tokens"]) for label, row in zip(labels, rows) if row["tokens"] is not None]
    figures = [html.figure(plots.bars(*zip(*documents), "documents out"), "documents after each stage")
               if documents else "",
               html.figure(plots.bars(*zip(*sized), "bytes out", log=True), "text bytes after each stage (log scale)")
               if sized else ""]
    section.add(html.row(*figures))
    if tokens:
        section.add(html.figure(plots.bars(*zip(*tokens), "tokens"), "tokens of each token source and mixture"))
    return section
