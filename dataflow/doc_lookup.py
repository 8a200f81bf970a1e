"""Finding one document by id in a stage output, and the WARC bytes it came from.

Backs `dataflow inspect doc ID PATH`: the row is found with a pyarrow dataset scan (streamed,
filter pushed down), then `warc_path` and `warc_offset` lead back to the original record.
"""

from __future__ import annotations

import os

import pyarrow.dataset as ds

from dataflow.errors import InputError
from dataflow.stage import DATA_DIR, REJECTED_DIR


def find_document(stage_dir: str, doc_id: str) -> tuple[dict, str] | None:
    """The row with `id == doc_id` and which part ("data" or "rejected") holds it."""
    return find_documents(stage_dir, [doc_id]).get(doc_id)


def find_documents(stage_dir: str, doc_ids: list[str]) -> dict[str, tuple[dict, str]]:
    """The rows of these ids, each with the part that holds it: one scan per part, not per id."""
    if not os.path.isdir(stage_dir):
        raise InputError(f"{stage_dir} is not a folder")
    parts = [part for part in (DATA_DIR, REJECTED_DIR) if os.path.isdir(os.path.join(stage_dir, part))]
    found: dict[str, tuple[dict, str]] = {}
    for part in parts or ["."]:
        missing = [doc_id for doc_id in doc_ids if doc_id not in found]
        if not missing:
            break
        dataset = ds.dataset(os.path.join(stage_dir, part), format="parquet", ignore_prefixes=[".", "_"])
        for row in dataset.to_table(filter=ds.field("id").isin(missing)).to_pylist():
            found.setdefault(row["id"], (row, part))
    return found


def read_record_at(warc_path: str, offset: int, max_bytes: int = 4096) -> str:
    """The WARC and HTTP headers and the start of the payload of the record at `offset`."""
    from fastwarc.warc import ArchiveIterator

    from dataflow.remote import open_binary

    with open_binary(warc_path) as stream:
        stream.seek(offset)
        for record in ArchiveIterator(stream, parse_http=True):
            head = [f"{key}: {value}" for key, value in record.headers.items()]
            if record.is_http:
                head += ["", record.http_headers.status_line or ""]
                head += [f"{key}: {value}" for key, value in record.http_headers.items()]
            payload = record.reader.read(max_bytes).decode("utf-8", errors="replace")
            return "\n".join(head) + "\n\n" + payload
    raise InputError(f"no WARC record at byte {offset} of {warc_path}")
