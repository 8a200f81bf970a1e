"""Documents that the stream mapping names (`dataflow/mix/provenance.py`), described for people.

Each document is looked up by id in the stage its source was tokenised from (the train
manifest's `config.input`, written by `dataflow run tokenize`): a text snippet, its
`filter_values` (which rule would have caught it at what threshold) and the
`dataflow inspect doc ID STAGE --raw` command that prints its WARC record. One scan per stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.doc_lookup import find_documents
from dataflow.shards import read_manifest, split_path

SNIPPET_CHARS = 300


def describe_documents(documents: list[dict[str, Any]], roots: dict[str, str]) -> list[dict[str, Any]]:
    """Documents as report samples: a snippet, the `filter_values` and the raw-page command from
    the stage each source was tokenised from (its train manifest's `config.input`), when it is there."""
    stages = {name: _tokenised_from(root) for name, root in roots.items()}
    rows = {}
    for name, stage in stages.items():
        ids = [d["id"] for d in documents if d["source"] == name and d["id"]]
        if stage and ids:
            rows.update({(name, doc_id): found for doc_id, found in find_documents(stage, ids).items()})
    described = []
    for document in documents:
        row, part = rows.get((document["source"], document["id"]), ({}, None))
        values = row.get("filter_values")
        described.append({
            **document,
            "filter_values": dict(values) if values is not None else None,
            "found_in": f"{stages[document['source']]} ({part})" if part else None,
            "text": row["text"][:SNIPPET_CHARS] if row.get("text") else None,
            "raw page": f"dataflow inspect doc {document['id']} {stages[document['source']]} --raw" if part else None})
    return described


def _tokenised_from(root: str) -> str | None:
    """The documents stage a token source was made from, if it still exists."""
    stage = read_manifest(split_path(root, "train")).config.get("input")
    return stage if stage and Path(stage).is_dir() else None
