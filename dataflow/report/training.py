"""Sections for training: the curves of proxy runs (metrics.jsonl of trainer/train.py) and the
plots a mixture search wrote into its folder.

A run's metrics.jsonl holds one JSON object per line: `kind: train` rows with `loss`, and
`kind: eval` rows with `{source: {loss, bits_per_byte}}`; it is read line by line. A search
folder is taken as it is: every PNG under it is embedded, whatever wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path

from dataflow.errors import InputError
from dataflow.inspect.report import Table
from dataflow.report import html, plots

METRICS_FILE = "metrics.jsonl"
MAX_POINTS = 2000  # train-loss points kept per run: every n-th step beyond that


def training_section(runs: list[Path]) -> html.Section:
    section = html.Section("training", "Training curves")
    loss, bits = {}, {}
    final = []
    for run in runs:
        train, evals = read_metrics(run)
        step = max(1, len(train) // MAX_POINTS)
        loss[run.name] = ([row["step"] for row in train[::step]], [row["loss"] for row in train[::step]])
        for source in sorted({key for row in evals for key, value in row.items() if isinstance(value, dict)}):
            points = [(row["step"], row[source]["bits_per_byte"]) for row in evals
                      if isinstance(row.get(source), dict) and "bits_per_byte" in row[source]]
            if points:
                bits[f"{run.name} {source}"] = tuple(zip(*points))
                final.append([run.name, source, points[-1][0], points[-1][1]])
    section.add(html.row(html.figure(plots.lines(loss, "step", "training loss"), "training loss per run"),
                         html.figure(plots.lines(bits, "step", "bits per byte"),
                                     "held-out bits per byte per source") if bits else
                         html.text("no evaluation rows yet", "empty")))
    if final:
        section.add(html.heading("bits per byte per source at the last evaluation"),
                    html.table(Table(["run", "source", "step", "bits per byte"], final)))
    return section


def read_metrics(run: Path) -> tuple[list[dict], list[dict]]:
    path = run / METRICS_FILE
    if not path.is_file():
        raise InputError(f"--runs {run}: no {METRICS_FILE} in it; give a folder written by `dataflow train`")
    train, evals = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("kind") == "train" and "loss" in row:
                train.append({"step": row["step"], "loss": row["loss"]})
            elif row.get("kind") == "eval":
                evals.append(row)
    return train, evals


def search_section(folder: Path) -> html.Section:
    section = html.Section("search", f"Mixture search: {folder.name}")
    if not folder.is_dir():
        raise InputError(f"--search {folder} is not a folder")
    images = sorted(folder.rglob("*.png"))
    if not images:
        return section.add(html.text(f"no PNG plot in {folder}", "empty"))
    return section.add(*[html.png_figure(image, str(image.relative_to(folder))) for image in images])
