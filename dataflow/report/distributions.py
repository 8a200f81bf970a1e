"""Section: quality-score and length histograms, languages and top domains, before filtering
(extract's documents) and after (the run's final documents).

Each side is one streamed scan by `dataflow inspect`'s Parquet view (only the needed columns,
64k-row batches, bounded accumulators), so memory does not grow with the stage's size.
"""

from __future__ import annotations

from dataflow.inspect.options import InspectOptions
from dataflow.inspect.parquet import TEXT_CHARS, parquet_report
from dataflow.inspect.report import Report
from dataflow.report import html, plots
from dataflow.report.stages import RunStages
from dataflow.stage import DATA_DIR

TOP_DOMAINS = 15
TOP_LANGUAGES = 12
BINS = 30
QUALITY_COLUMN = "quality_score"


def distributions_section(run: RunStages, options: InspectOptions = InspectOptions(top=TOP_DOMAINS,
                                                                                   bins=BINS)) -> html.Section:
    section = html.Section("distributions", "Lengths, quality, languages and domains")
    before, after = run.first("extract"), run.final_documents()
    if before is None or after is None:
        return section.add(html.text("no document stage in this run", "empty"))
    sides = {"before filtering": parquet_report(before[0] / DATA_DIR, options)}
    if after[0] != before[0]:
        sides[f"after {after[1]['stage']}"] = parquet_report(after[0] / DATA_DIR, options)
    section.add(html.row(*[html.figure(plots.histogram(report.histograms[TEXT_CHARS], "characters per document"),
                                       f"document length, {side} ({report.summary['rows']:,} documents)")
                           for side, report in sides.items() if TEXT_CHARS in report.histograms]))
    scored = [(side, report) for side, report in sides.items() if QUALITY_COLUMN in report.histograms]
    if scored:
        section.add(html.row(*[html.figure(plots.histogram(report.histograms[QUALITY_COLUMN], "quality score"),
                                           f"quality score, {side}") for side, report in scored]))
    else:
        section.add(html.text("no quality scores: the run had no classify stage (give a quality model)", "empty"))
    section.add(_breakdown(sides, "language", TOP_LANGUAGES), _breakdown(sides, "domain", TOP_DOMAINS))
    return section


def _breakdown(sides: dict[str, Report], column: str, top: int) -> str:
    """Shares of the most frequent values before and after, as grouped bars and a table per side."""
    tables = {side: report.tables.get(f"by {column}") for side, report in sides.items()}
    if not any(tables.values()):
        return html.text(f"no {column} column", "empty")
    shares = {side: {row[0]: row[2] for row in table.rows if not str(row[0]).startswith("(")}
              for side, table in tables.items() if table}
    labels = list(dict.fromkeys(label for values in shares.values() for label in values))[:top]
    chart = plots.grouped_bars(labels, {side: [values.get(label, 0.0) for label in labels]
                                        for side, values in shares.items()}, "share of documents")
    return (html.heading(f"{column}s") + html.figure(chart, f"top {column}s, share of documents before and after")
            + html.row(*[f"<div>{html.text(side)}{html.table(table)}</div>" for side, table in tables.items()
                         if table]))
