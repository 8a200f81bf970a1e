"""Files written whole or not at all: a temporary name beside the target, then one rename.

Readers (a resumed run, `dataflow inspect`, another process) see the old file or the new one,
never half of one; a crash leaves at worst a `.NAME.tmp-*` file, which no reader opens. The
temporary name is unique per write, so two writers of the same file cannot interleave. A
`durable` write also fsyncs the file before the rename and the folder after it, so the new file
survives a power cut too (the search's run folders: a resume trusts what they say). Whole
folders are published the same way by `dataflow/stage.py` (`publish`).

On an object store (an `s3://` URL, or a `StorePath`) there is no rename: the file is written in a
local temporary folder, then uploaded as one object (a single PUT, which readers see whole or not
at all), so the same callers write either kind of location.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dataflow.remote import is_remote


def temporary_path(path: Path) -> Path:
    """A unique hidden name beside `path`, for a writer that renames it into place when complete."""
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")


@contextmanager
def replacing(path: str | Path, durable: bool = False) -> Iterator[Path]:
    """`with replacing(path) as tmp:` write `tmp` by any means (text, Parquet, a PNG); when the block
    ends without an error, `tmp` is renamed onto `path`; on an error it is removed and `path` is untouched.
    On an object store `tmp` is a local file, uploaded as one object when the block ends without an error."""
    if is_remote(str(path)):
        from dataflow.object_store import upload  # it writes through this module: imported when used

        with tempfile.TemporaryDirectory(prefix="dataflow-object-") as folder:
            tmp = Path(folder, posixpath.basename(str(path)))
            yield tmp
            upload(tmp, str(path))
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        if durable:
            _fsync(tmp, os.O_RDONLY)
        os.replace(tmp, path)
        if durable:
            _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, durable: bool = False) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file and a rename; create its folder."""
    with replacing(path, durable) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path if is_remote(str(path)) else Path(path)


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
