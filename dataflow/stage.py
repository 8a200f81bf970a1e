"""The stage contract, engine-free: folder layout, fingerprints and stats.json.

A stage's output folder holds:

    data/        kept rows (Parquet part files; `spark.read.parquet(".../data")` reads them)
    rejected/    dropped rows with `reject_reason` and `reject_value`
    stats.json   rows in/out, rejected by reason, bytes, seconds, fingerprint, config
    _SUCCESS     written last; a folder without it is incomplete and is never read or skipped

The folder is written under a temporary name and renamed into place (jobs/common/stage_io.py).
A rerun skips a stage whose `_SUCCESS` exists and whose fingerprint (stage name, config,
input identities, dataflow version) equals the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import dataflow
from dataflow.errors import InputError

DATA_DIR = "data"
REJECTED_DIR = "rejected"
STATS_FILE = "stats.json"
SUCCESS_FILE = "_SUCCESS"


def fingerprint(stage: str, config: Any, inputs: list[Any]) -> str:
    """sha256 over what determines a stage's output; equal fingerprints mean reusable output."""
    payload = {"stage": stage, "config": config, "inputs": inputs, "version": dataflow.__version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def local_file_identity(path: str) -> Any:
    """A WARC input's identity: size and mtime for local files; the URL alone for remote ones
    (Common Crawl paths are immutable, and stat'ing 90k remote files would cost minutes)."""
    if "://" in path and not path.startswith("file://"):
        return path
    try:
        stat = os.stat(path.removeprefix("file://"))
    except OSError:
        return [path, None]
    return [path, stat.st_size, stat.st_mtime_ns]


def data_path(stage_dir: str) -> str:
    """Where a local stage folder keeps its rows; any other folder is taken as plain Parquet."""
    is_stage = os.path.exists(os.path.join(stage_dir, SUCCESS_FILE)) or os.path.isdir(os.path.join(stage_dir, DATA_DIR))
    return os.path.join(stage_dir, DATA_DIR) if is_stage else stage_dir


def read_stats(stage_dir: str) -> dict:
    """The stats.json of a complete local stage folder."""
    path = os.path.join(stage_dir, STATS_FILE)
    if not os.path.exists(os.path.join(stage_dir, SUCCESS_FILE)):
        raise InputError(f"{stage_dir} is not a complete stage output (no {SUCCESS_FILE}): rerun the stage")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
