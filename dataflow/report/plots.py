"""Plots as inline SVG strings, drawn with matplotlib.

matplotlib because it draws static SVG with no JavaScript and no network (plotly and altair
render in the browser from a bundled or fetched script of several MB), it is the most widely
kept Python plotting library, and the SVG stays sharp at any zoom and small for the bar charts
and histograms a report holds. Text stays text (`svg.fonttype: none`) and ids are salted
(`svg.hashsalt`), so the same data gives the same file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from dataflow.inspect.report import Histogram  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "dataflow-report", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})
WIDTH = 6.4


def to_svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prologue and doctype: the SVG sits inside HTML


def bars(labels: Sequence[str], values: Sequence[float], xlabel: str, log: bool = False) -> str:
    """Horizontal bars, first label on top."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.3 * len(labels) + 0.8))
    ax.barh(range(len(labels)), values, color="#4878a8")
    ax.set_yticks(range(len(labels)), [str(label) for label in labels])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    if log:
        ax.set_xscale("log")
    return to_svg(fig)


def grouped_bars(labels: Sequence[str], series: dict[str, Sequence[float]], ylabel: str) -> str:
    """Vertical bars side by side, one colour per series (before/after, target/realised)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    width = 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series.items()):
        ax.bar([x + index * width for x in range(len(labels))], values, width, label=name)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(labels))], [str(label) for label in labels],
                  rotation=30 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
    ax.set_ylabel(ylabel)
    ax.legend()
    return to_svg(fig)


def histogram(hist: Histogram, xlabel: str) -> str:
    fig, ax = plt.subplots(figsize=(WIDTH / 2 + 0.4, 2.6))
    if hist.counts:
        ax.stairs(hist.counts, hist.edges, fill=True, color="#4878a8")
        if hist.edges[0] > 0 and hist.edges[-1] > 100 * hist.edges[0]:
            ax.set_xscale("log")  # inspect's accumulator chose log-spaced bins for a long tail
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows" + (" (sample)" if hist.sampled_from else ""))
    return to_svg(fig)


def lines(series: dict[str, tuple[Sequence[float], Sequence[float]]], xlabel: str, ylabel: str) -> str:
    fig, ax = plt.subplots(figsize=(WIDTH / 2 + 0.4, 2.8))
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, label=name, marker="." if len(xs) < 30 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(fontsize=7)
    return to_svg(fig)
