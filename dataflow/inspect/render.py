"""A report as plain terminal text: summary lines, aligned tables, histograms drawn with block
characters (eighth blocks give a bar eight steps per character, as `spark`-style CLI charts do)."""

from __future__ import annotations

from typing import Any

from dataflow.inspect.report import Histogram, Report, Table

BAR_WIDTH = 40
EIGHTHS = " ▏▎▍▌▋▊▉█"
SAMPLE_TEXT_CHARS = 600


def render_text(report: Report) -> str:
    lines = [f"{report.path}  ({report.kind})", ""]
    width = max((len(key) for key in report.summary), default=0)
    lines += [f"  {key.ljust(width)}  {_value(value)}" for key, value in report.summary.items()]
    for name, table in report.tables.items():
        lines += ["", name] + render_table(table)
    for name, histogram in report.histograms.items():
        lines += ["", f"{name}"] + render_histogram(histogram)
    for index, sample in enumerate(report.samples):
        lines += ["", f"--- sample {index + 1} ---"] + _sample_lines(sample)
    return "\n".join(lines)


def render_table(table: Table) -> list[str]:
    cells = [[str(column) for column in table.columns]] + [[_value(cell) for cell in row] for row in table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    out = ["  " + "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
           for row in cells]
    out.insert(1, "  " + "  ".join("-" * w for w in widths))
    return out + ([f"  ({table.note})"] if table.note else [])


def render_histogram(histogram: Histogram) -> list[str]:
    if not histogram.count:
        return [f"  no values ({histogram.nulls} nulls)"]
    head = (f"  n={histogram.count:,} nulls={histogram.nulls:,} min={_value(histogram.min)} "
            f"mean={_value(histogram.mean)} max={_value(histogram.max)}")
    if histogram.sampled_from:
        head += f"  (bins from a uniform sample of {sum(histogram.counts):,} values)"
    peak = max(histogram.counts) or 1
    labels = [f"[{_value(lo)}, {_value(hi)}{']' if i == len(histogram.counts) - 1 else ')'}"
              for i, (lo, hi) in enumerate(zip(histogram.edges, histogram.edges[1:]))]
    width = max(map(len, labels))
    return [head] + [f"  {label.rjust(width)} {bar(count / peak)} {count:,}"
                     for label, count in zip(labels, histogram.counts)]


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `fraction` * `width` characters, to an eighth of a character.

    >>> bar(0.5, 4), bar(0.1, 4)
    ('██  ', '▍   ')
    """
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def _sample_lines(sample: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in sample.items():
        text = _value(value)
        if isinstance(value, str) and len(value) > SAMPLE_TEXT_CHARS:
            text = value[:SAMPLE_TEXT_CHARS] + f"… ({len(value):,} chars)"
        lines.append(f"{key}: {text}" if "\n" not in text else f"{key}:\n{text}")
    return lines


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list) and len(value) > 24:
        return f"[{', '.join(map(str, value[:24]))}, … ({len(value)} items)]"
    return str(value)
