"""One pipeline run driven by a config file alone (input, output, two sources, stage sections),
shared by the pipeline-config tests and the report tests: 160 sample pages in seven languages,
English and German mixed as two token sources."""

from __future__ import annotations

from pathlib import Path

import yaml

from dataflow import cli
from dataflow.samples.generate import write_sample_warcs

SAMPLE_PAGES, SEED = 160, 0
SOURCES = {"en": {"languages": ["en"], "weight": 0.75}, "de": {"languages": ["de"], "weight": 0.25}}


def run_pipeline_from_config(root: Path) -> Path:
    """Write the sample WARCs and the config file under `root`, run the pipeline; return the config path."""
    write_sample_warcs(root / "warc", num_pages=SAMPLE_PAGES, num_files=2, seed=SEED)
    config = root / "pipeline.yaml"
    config.write_text(yaml.safe_dump({
        "input": [str(root / "warc" / "*.warc.gz")],
        "output": str(root / "out"),
        "sources": SOURCES,
        "seq_len": 64,
        "tokenizer": {"vocab_size": 2000},  # a small vocabulary trains in a second on 160 pages
        "tokenize": {"validation_frac": 0.2},  # a few held-out documents per source, for evaluations
    }))
    assert cli.main(["run", "pipeline", "--config", str(config)]) == 0
    return config
