"""Files written whole or not at all: a temporary name beside the target, then one rename.

Readers (a resumed run, `dataflow inspect`, another process) see the old file or the new one,
never half of one; a crash leaves at worst a `.NAME.tmp-*` file, which no reader opens. The
temporary name is unique per write, so two writers of the same file cannot interleave. Whole
folders are published the same way by `dataflow/stage.py` (`publish`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def temporary_path(path: Path) -> Path:
    """A unique hidden name beside `path`, for a writer that renames it into place when complete."""
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file and a rename; create its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
