"""The real pages of ../shared/data/html as documents, and a quality model trained on real text:
shared by the filter/classify tests and the benches (read in place, never copied)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dataflow.schema import doc_schema


def load_pages(shared_data: Path) -> list[dict]:
    """{id, text, language, url} of the 1,695 pages (trafilatura text, detected language), by id."""
    manifest = {row["id"]: row for row in map(json.loads, open(shared_data / "html" / "manifest.jsonl", encoding="utf-8"))}
    with gzip.open(shared_data / "html" / "extracted_trafilatura.jsonl.gz", "rt", encoding="utf-8") as handle:
        return sorted(({"id": row["id"], "text": row["text"] or "", "language": manifest[row["id"]]["lang"],
                        "url": manifest[row["id"]].get("url")} for row in map(json.loads, handle)),
                      key=lambda page: page["id"])


def write_documents(pages: list[dict], folder: Path) -> Path:
    """A documents folder (one Parquet file in the extract stage's schema) holding `pages`."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"source": "web", **page} for page in pages]
    pq.write_table(pa.Table.from_pylist(rows, schema=doc_schema()), folder / "part-0.parquet")
    return folder


def train_quality_model(shared_data: Path, folder: Path) -> Path:
    """A fastText quality classifier with DCLM's hyper-parameters (50k buckets): WikiText
    paragraphs as positives; forum threads, home pages and web-archive captures, in chunks of
    four lines, as negatives. Its card lies next to it."""
    from classifiers.train import TrainConfig, train_quality_classifier

    negatives = folder / "boilerplate.jsonl"
    with open(negatives, "w", encoding="utf-8") as out:
        for page in load_pages(shared_data):
            if page["id"].startswith("magic-html-forum/") or page["id"].endswith("_main_site") or "/archive." in page["id"]:
                lines = [line for line in page["text"].splitlines() if line.strip()]
                for start in range(0, len(lines), 4):
                    out.write(json.dumps({"body": "\n".join(lines[start:start + 4])}) + "\n")
    model = folder / "quality.bin"
    train_quality_classifier([str(shared_data / "text" / "wikitext-2" / "valid.txt.gz")], [str(negatives)], str(model),
                             TrainConfig(text_column="body", max_docs_per_class=500, bucket=50_000))
    return model
