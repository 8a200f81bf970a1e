"""One pipeline run driven by a config file alone (input, output, two sources, stage sections),
shared by the pipeline-config tests, the report tests and the examples' tests: the file is
examples/sample-pipeline.yaml with its input and output moved under the test's folder, over 160
sample pages in seven languages, English and German mixed as two token sources."""

from __future__ import annotations

from pathlib import Path

import yaml

import cli
from dataflow.samples.generate import write_sample_warcs

SAMPLE_PAGES, SEED = 160, 0
EXAMPLE = Path(__file__).parents[1] / "examples" / "sample-pipeline.yaml"
SOURCES = yaml.safe_load(EXAMPLE.read_text())["sources"]


def run_pipeline_from_config(root: Path) -> Path:
    """Write the sample WARCs and the config file under `root`, run the pipeline; return the config path."""
    write_sample_warcs(root / "warc", num_pages=SAMPLE_PAGES, num_files=2, seed=SEED)
    config = root / "pipeline.yaml"
    example = yaml.safe_load(EXAMPLE.read_text())
    config.write_text(yaml.safe_dump({**example, "input": [str(root / "warc" / "*.warc.gz")],
                                      "output": str(root / "out")}))
    assert cli.main(["run", "pipeline", "--config", str(config)]) == 0
    return config
