"""The real pages of ../shared/data/html as documents, and a quality model trained on real text:
the one reader of those pages for the tests and the benches (read in place, never copied).

The texts are trafilatura's extractions of the 1,695 real pages in
`html/extracted_trafilatura.jsonl.gz` (en, de, zh, es, ja, fr, ...); the URL and language come
from the pages' `manifest.jsonl`. Both files list the pages sorted by id.
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


def load_pages(shared_data: Path) -> list[dict]:
    """{id, text, language, url} of the 1,695 pages, sorted by id; `text` is "" where trafilatura
    found none, `language` the detected one."""
    with open(shared_data / "html" / "manifest.jsonl", encoding="utf-8") as handle:
        manifest = {row["id"]: row for row in map(json.loads, handle)}
    with gzip.open(shared_data / "html" / "extracted_trafilatura.jsonl.gz", "rt", encoding="utf-8") as handle:
        return sorted(({"id": row["id"], "text": row["text"] or "", "language": manifest[row["id"]]["lang"],
                        "url": manifest[row["id"]].get("url")} for row in map(json.loads, handle)),
                      key=lambda page: page["id"])


def real_texts(shared_data: Path, limit: int | None = None) -> list[dict]:
    """The first `limit` pages with text, each id hashed into the 32 hex characters of an extracted
    document's id."""
    docs = [{**page, "id": hashlib.sha256(page["id"].encode()).hexdigest()[:32]}
            for page in load_pages(shared_data) if page["text"]]
    return docs[:limit] if limit else docs


def write_documents(folder: Path, docs: list[dict], source: str = "web", parts: int = 1) -> Path:
    """`docs` ({id, text, ...} in the document schema; `domain` from `url`) as a documents folder
    of `parts` Parquet files, row i in file i % parts."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"domain": urlsplit(doc.get("url") or "").hostname, "source": source, **doc} for doc in docs]
    for part in range(parts):
        pq.write_table(pa.Table.from_pylist(rows[part::parts], schema=doc_schema()),
                       folder / f"part-{part:05d}.parquet")
    return folder


def train_quality_model(shared_data: Path, folder: Path) -> Path:
    """A fastText quality classifier with DCLM's hyper-parameters (50k buckets): WikiText
    paragraphs as positives; forum threads, home pages and web-archive captures, in chunks of
    four lines, as negatives. Its card lies next to it."""
    from classifiers.train import TrainConfig, train_quality_classifier

    negatives = folder / "boilerplate.jsonl"
    with open(negatives, "w", encoding="utf-8") as out:
        for page in load_pages(shared_data):
            if (page["id"].startswith("magic-html-forum/") or page["id"].endswith("_main_site")
                    or "/archive." in page["id"]):
                lines = [line for line in page["text"].splitlines() if line.strip()]
                for start in range(0, len(lines), 4):
                    out.write(json.dumps({"body": "\n".join(lines[start:start + 4])}) + "\n")
    model = folder / "quality.bin"
    train_quality_classifier([str(shared_data / "text" / "wikitext-2" / "valid.txt.gz")], [str(negatives)], str(model),
                             TrainConfig(text_column="body", max_docs_per_class=500, bucket=50_000))
    return model
