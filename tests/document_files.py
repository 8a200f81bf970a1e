"""Writing documents as users hold them, for the tests of the document readers and writers."""

from __future__ import annotations

import json

import zstandard


def write_jsonl(path, rows, opener=open):
    with opener(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    return path


def write_zst(path, rows):
    text = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(text))
    return path
