"""The dataset card (README.md) of a Hugging Face dataset folder that `dataflow export --format hf` writes.

The YAML header is what `datasets.load_dataset(folder)` and the Hub read: one `default` config whose
`train` split is the Parquet shards under data/ (the Hub's "manual configuration" of data files,
https://huggingface.co/docs/hub/datasets-manual-configuration). The body says where the documents came
from: the funnel through the stages that made them (dataflow/inspect/funnel.py) and the exported stage's
own stats.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from dataflow.inspect.funnel import chain_to, funnel_table
from dataflow.inspect.report import Table


def card_header(data_glob: str) -> dict:
    return {"configs": [{"config_name": "default", "data_files": [{"split": "train", "path": data_glob}]}]}


def dataset_card(name: str, stats: dict, funnel: Table, data_glob: str) -> str:
    """README.md text: the YAML header, the funnel as a Markdown table, and the stage's stats."""
    header = yaml.safe_dump(card_header(data_glob), sort_keys=False)
    lines = [f"---\n{header}---", "", f"# {name}", "",
             f"Documents exported by dataflow from the output of its `{stats.get('stage')}` "
             f"stage: {stats.get('rows_out', '?')} rows (stage fingerprint `{stats.get('fingerprint')}`).", "",
             "    from datasets import load_dataset", f"    docs = load_dataset(\"path/to/{name}\", split=\"train\")",
             "", "## Funnel", "", *markdown_table(funnel), "", "## Stage stats", "", "```json",
             json.dumps(stats, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def markdown_table(table: Table) -> list[str]:
    cells = [["" if cell is None else f"{cell:,}" if isinstance(cell, int) else str(cell) for cell in row]
             for row in table.rows]
    return ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns),
            *("| " + " | ".join(row) + " |" for row in cells)]


def local_funnel(stage_output: str) -> Table:
    """The funnel to a stage output on a local path; empty for one on a remote store (its stats.json files
    are not read from the driver's disk)."""
    if "://" in stage_output and not stage_output.startswith("file://"):
        return funnel_table([])
    return funnel_table(chain_to(Path(stage_output.removeprefix("file://"))))
