"""The document schema that every stage reads and extends (docs/architecture.md, "Stage contract").

Stages add columns after the base ones; a rejected row carries the same columns plus
`reject_reason` (a stable rule name) and `reject_value` (the measured value, as text).
This module owns the column list so that Spark jobs, the CLI and tests agree on it.
"""

from __future__ import annotations

import pyarrow as pa
import xxhash

#: Columns every document has, in order. `id` is stable: derived from the WARC record.
DOC_FIELDS: tuple[pa.Field, ...] = (
    pa.field("id", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("crawl", pa.string()),
    pa.field("fetch_time", pa.timestamp("us", tz="UTC")),
    pa.field("warc_path", pa.string()),
    pa.field("warc_offset", pa.int64()),
    pa.field("source", pa.string()),
    pa.field("text", pa.string()),
    pa.field("title", pa.string()),
    pa.field("language", pa.string()),
    pa.field("language_score", pa.float32()),
)

#: Columns a stage adds to say why a row was dropped; null on kept rows.
REJECT_FIELDS: tuple[pa.Field, ...] = (
    pa.field("reject_reason", pa.string()),
    pa.field("reject_value", pa.string()),
)

REJECT_REASON = "reject_reason"
REJECT_VALUE = "reject_value"


def doc_schema(*extra: pa.Field) -> pa.Schema:
    """The base document schema followed by a stage's own columns."""
    return pa.schema([*DOC_FIELDS, *extra])


def annotated_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` plus the reject columns: what a stage's Arrow function emits."""
    return pa.schema([*schema, *REJECT_FIELDS])


def record_doc_id(record_id: str | None, warc_path: str, offset: int) -> str:
    """A stable 128-bit hex id for the document of one WARC record.

    The WARC-Record-ID is globally unique by the WARC standard, so it alone defines the
    id; records without one (ARC files) fall back to the file name and byte offset.
    128 bits keep collisions negligible at crawl scale (birthday bound ~10^19 documents).
    """
    key = record_id or f"{warc_path.rsplit('/', 1)[-1]}@{offset}"
    return xxhash.xxh3_128_hexdigest(key.encode("utf-8"))

