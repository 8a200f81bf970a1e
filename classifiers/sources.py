"""Training texts from files: Parquet (a file, a folder, or a stage output), JSONL, or plain text.

- Parquet: the `text_column` of every row; a stage output folder is read from its data/.
- JSONL (`.jsonl`, `.json`, optionally `.gz`): the `text_column` field of every line.
- Text (`.txt`, optionally `.gz`): one document per non-empty line, fastText's own convention
  (WikiText paragraphs, one-sentence-per-line books).

Texts are streamed (Parquet in record batches), so a large source costs one batch of memory.
`describe_source` gives what the model card records: path, bytes and sha256 (for a folder,
the sha256 over its files' names and sha256s).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator

from classifiers.quality import file_sha256
from dataflow.errors import InputError
from dataflow.stage import data_path

_JSON_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
_TEXT_SUFFIXES = (".txt", ".txt.gz")


def read_texts(path: str, text_column: str = "text") -> Iterator[str]:
    """The non-empty texts of one source."""
    if not os.path.exists(path):
        raise InputError(f"training source {path} does not exist")
    if path.endswith(_JSON_SUFFIXES):
        yield from _jsonl_texts(path, text_column)
    elif path.endswith(_TEXT_SUFFIXES):
        with _open_text(path) as handle:
            yield from (line.strip() for line in handle if line.strip())
    elif os.path.isdir(path) or path.endswith(".parquet"):
        yield from _parquet_texts(path, text_column)
    else:
        raise InputError(f"training source {path}: expected Parquet (file or folder), "
                         f"JSONL ({', '.join(_JSON_SUFFIXES)}) or text ({', '.join(_TEXT_SUFFIXES)})")


def describe_source(path: str) -> dict:
    """Path, size and sha256 of a source, for the model card."""
    if os.path.isfile(path):
        return {"path": os.path.abspath(path), "bytes": os.path.getsize(path), "sha256": file_sha256(path)}
    files = sorted(os.path.relpath(os.path.join(root, name), path) for root, _, names in os.walk(path)
                   for name in names if not name.startswith((".", "_")))
    digest = hashlib.sha256()
    for name in files:
        digest.update(f"{name}\0{file_sha256(os.path.join(path, name))}\n".encode())
    return {"path": os.path.abspath(path), "bytes": sum(os.path.getsize(os.path.join(path, name)) for name in files),
            "sha256": digest.hexdigest()}


def _jsonl_texts(path: str, text_column: str) -> Iterator[str]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if text_column not in record:
                raise InputError(f"{path} line {number} has no field {text_column!r} (fields: {', '.join(record)}): "
                                 "pass --text-column")
            if record[text_column]:
                yield record[text_column]


def _parquet_texts(path: str, text_column: str) -> Iterator[str]:
    import pyarrow.dataset as ds

    dataset = ds.dataset(data_path(path) if os.path.isdir(path) else path, format="parquet",
                         ignore_prefixes=[".", "_"])
    if text_column not in dataset.schema.names:
        raise InputError(f"{path} has no column {text_column!r} (columns: {', '.join(dataset.schema.names)}): "
                         "pass --text-column")
    for batch in dataset.to_batches(columns=[text_column]):
        yield from (text for text in batch.column(0).to_pylist() if text)


def _open_text(path: str):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")
