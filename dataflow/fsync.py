"""Flushing a file, or a folder's entries, to the disk: the one helper for every write that must
survive a power cut in order (checkpoint files before their marker, a JVM archive before its rename)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: str | Path) -> None:
    """fsync `path`; on a folder this makes the names in it (a rename just done) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
