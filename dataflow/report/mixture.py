"""Section: each mixture's target vs realised token shares and the epochs each source took,
from the mix stage's manifest.json (dataflow/mix/sequences.py writes it)."""

from __future__ import annotations

import json

from dataflow.inspect.report import Table
from dataflow.report import html, plots
from dataflow.report.stages import RunStages, stage_section
from dataflow.shards import MANIFEST


def mixture_section(run: RunStages) -> html.Section:
    section, found = stage_section(run, "mix", "mixture", "Mixture")
    for folder, _ in run.all("mix") if found else []:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        sources = manifest["sources"]
        section.add(html.heading(f"{manifest['name']}: {manifest['num_sequences']:,} sequences of "
                                 f"{manifest['seq_len']} tokens, {manifest['total_tokens']:,} tokens ({folder.name})"))
        names = sorted(sources)
        section.add(html.figure(plots.grouped_bars(names, {
            "target": [sources[name]["target_share"] for name in names],
            "realised": [sources[name]["realised_share"] for name in names]}, "share of tokens"),
            "target vs realised share of each source"))
        section.add(html.table(Table(
            ["source", "target share", "realised share", "tokens", "available tokens", "epochs", "max epochs"],
            [[name, sources[name]["target_share"], sources[name]["realised_share"], sources[name]["realised_tokens"],
              sources[name]["available_tokens"], sources[name]["epochs"], sources[name]["max_epochs"]]
             for name in names])))
    return section
