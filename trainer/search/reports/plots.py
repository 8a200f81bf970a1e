"""Matplotlib for every search's plots: the Agg backend (no display), each PNG written whole (dataflow/atomic.py)."""

from __future__ import annotations

from pathlib import Path

from dataflow.atomic import replacing


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported on use: a search that draws nothing never loads it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(plt, fig, path: Path) -> None:
    """Write `fig` as a PNG at `path` through a temporary name, then close it."""
    fig.tight_layout()
    with replacing(path, durable=True) as temporary:
        fig.savefig(temporary, dpi=110, format="png")
    plt.close(fig)
