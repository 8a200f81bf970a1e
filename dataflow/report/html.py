"""One self-contained HTML file: inline CSS, plots as inline SVG or data-URI PNG, no script.

A Content-Security-Policy meta tag forbids every network fetch (`default-src 'none'`), so the
file opens offline and a browser reports any outside reference as a console error, which the
browser test (tests/dataflow/test_report_browser.py) treats as a failure. Every text taken from
the data (snippets, URLs, reasons) goes through `html.escape`.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.inspect.report import Table

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; } h3 { margin-bottom: 0.3em; }
nav a { margin-right: 1em; } .note { color: #666; } .empty { color: #a60; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } td, th { border: 1px solid #ddd; padding: 2px 8px; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.snippet { font-family: ui-monospace, monospace; font-size: 12px; max-width: 700px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
figure { margin: 0.5em 0; } figure svg, figure img { max-width: 100%; height: auto; }
.row { display: flex; flex-wrap: wrap; gap: 1em; } .row > figure { flex: 1 1 480px; }
"""


@dataclass
class Section:
    """One titled part of the report; `parts` are HTML fragments made by the helpers below."""

    id: str
    title: str
    parts: list[str] = field(default_factory=list)

    def add(self, *parts: str) -> Section:
        self.parts.extend(parts)
        return self


def text(value: str, css: str | None = None) -> str:
    return f"<p{_class(css)}>{html.escape(value)}</p>"


def heading(value: str) -> str:
    return f"<h3>{html.escape(value)}</h3>"


def table(data: Table, snippets: tuple[str, ...] = ()) -> str:
    """An HTML table; columns named in `snippets` are shown as monospace text."""
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in data.columns)
    rows = []
    for row in data.rows:
        cells = []
        for column, value in zip(data.columns, row):
            css = "snippet" if column in snippets else "num" if isinstance(value, (int, float)) else None
            cells.append(f"<td{_class(css)}>{html.escape(_cell(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    note = text(data.note, "note") if data.note else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def figure(svg: str, caption: str) -> str:
    """An inline SVG made by dataflow/report/plots.py, with its caption."""
    return f"<figure>{svg}<figcaption class=\"note\">{html.escape(caption)}</figcaption></figure>"


def png_figure(path: Path, caption: str) -> str:
    """A PNG file embedded as a data URI (plots written by other tools, e.g. a mixture search)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption class=\"note\">{html.escape(caption)}</figcaption></figure>")


def row(*parts: str) -> str:
    return f'<div class="row">{"".join(parts)}</div>'


def _class(css: str | None) -> str:
    return f' class="{css}"' if css else ""


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(title: str, subtitle: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{section.id}">{html.escape(section.title)}</a>' for section in sections)
    body = "".join(f'<section id="{section.id}" data-section="{section.id}"><h2>{html.escape(section.title)}</h2>'
                   f'{"".join(section.parts)}</section>' for section in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{text(subtitle, 'note')}<nav>{nav}</nav>{body}</body></html>")


