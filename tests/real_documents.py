"""A documents Parquet folder built from real pages: what the stages after extraction read.

The texts are trafilatura's extractions of the 1,695 real pages in
`shared/data/html/extracted_trafilatura.jsonl.gz` (en, de, zh, es, ja, fr, ...); the URL and
language come from the pages' `manifest.jsonl`. Read in place, never copied into the repository.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from dataflow.schema import doc_schema


def real_texts(shared_data: Path, limit: int | None = None) -> list[dict]:
    """[{id, url, language, text}] of the real pages with text, in file order."""
    pages = {}
    with open(shared_data / "html" / "manifest.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            pages[row["id"]] = row
    docs = []
    with gzip.open(shared_data / "html" / "extracted_trafilatura.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["text"]:
                page = pages[row["id"]]
                docs.append({"id": hashlib.sha256(row["id"].encode()).hexdigest()[:32], "url": page.get("url"),
                             "language": page.get("lang"), "text": row["text"]})
            if limit and len(docs) == limit:
                break
    return docs


def write_documents(folder: Path, docs: list[dict], source: str = "web", parts: int = 3) -> Path:
    """`docs` as a Parquet folder in the document schema, split over `parts` files."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": d["id"], "url": d["url"], "domain": urlsplit(d["url"] or "").hostname, "source": source,
             "text": d["text"], "language": d["language"]} for d in docs]
    schema = doc_schema()
    for part in range(parts):
        pq.write_table(pa.Table.from_pylist(rows[part::parts], schema=schema), folder / f"part-{part:05d}.parquet")
    return folder
