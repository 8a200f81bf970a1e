"""The stage contract, engine-free: folder layout, fingerprints and stats.json.

A stage's output folder holds:

    data/        kept rows (Parquet part files; `spark.read.parquet(".../data")` reads them)
    rejected/    dropped rows with `reject_reason` and `reject_value`
    stats.json   rows in/out, rejected by reason, bytes, seconds, fingerprint, config
    _SUCCESS     written last; a folder without it is incomplete and is never read or skipped

The folder is written under a temporary name and renamed into place (`publish`, called by
jobs/common/stage_io.py). Object stores (s3a://) rename by copying then deleting, file by file,
so a crash can leave a partial folder: `_SUCCESS` is therefore written only after the rename,
in the final place, and `complete_stats` also checks that every file stats.json lists
(`output_files`, with its size) is there. Replacing an output deletes the old folder, so
`check_output` refuses, before any engine starts, an output that is, contains or lies inside an
input, or an existing folder that is not a stage output (a mistyped `--output out` must not
delete a whole run folder, nor `--output` at a user's Spark-written Parquet folder its part files:
only a folder whose stats.json names a stage and fingerprint is ours to replace). A rerun skips a
stage whose output is complete and whose fingerprint (stage name, config, input identities,
dataflow version) equals the new one.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlsplit

import dataflow
from dataflow.errors import InputError, UserError

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
    """Where a local stage folder keeps its rows (data/); any other folder, a Spark-written one with its
    `_SUCCESS` included, is taken as plain Parquet."""
    is_stage = os.path.isdir(os.path.join(stage_dir, DATA_DIR))
    return os.path.join(stage_dir, DATA_DIR) if is_stage else stage_dir


def read_stats(stage_dir: str) -> dict:
    """The stats.json of a complete local stage folder."""
    path = os.path.join(stage_dir, STATS_FILE)
    if not os.path.exists(os.path.join(stage_dir, SUCCESS_FILE)):
        raise InputError(f"{stage_dir} is not a complete stage output (no {SUCCESS_FILE}): rerun the stage")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


#: URL schemes that name the same store (Hadoop's s3a:// and fsspec's s3:// are one bucket).
_SAME_STORE = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


def check_output(output: str, inputs: Iterable[str], flag: str = "--output", *, stage: str) -> None:
    """Refuse an output folder that stage `stage` may not replace (`check_apart`, then `check_replaceable`
    for a local folder; remote ones are checked through the engine's filesystem when the stage runs)."""
    check_apart(output, inputs, flag)
    scheme, _, path = _location(output)
    if scheme:
        return
    if os.path.isfile(path):
        raise UserError(f"{flag} {output} is a file; a stage writes a folder: choose a folder path")
    check_replaceable(output, os.listdir(path) if os.path.isdir(path) else None,
                      lambda: Path(path, STATS_FILE).read_bytes(), flag, stage=stage)


def check_apart(output: str, inputs: Iterable[str], flag: str = "--output") -> None:
    """Refuse an output that is, contains or lies inside one of `inputs` (paths, URLs or globs).

    Paths are compared resolved (symlinks, `..`, `file://`), URLs by store and key; a local glob
    by its matches, a remote one by the folder above its first wildcard.
    """
    out = _location(output)
    for spec, path in ((spec, path) for spec in inputs for path in _expand(spec)):
        given = _location(path)
        if given[:2] != out[:2]:
            continue
        if out[2] == given[2]:
            relation = "is"
        elif out[2] in given[2].parents:
            relation = "contains"
        elif given[2] in out[2].parents:
            relation = "lies inside"
        else:
            continue
        raise UserError(f"{flag} {output} {relation} the input {spec}: writing it would overwrite or delete "
                        "that input; choose an output outside every input")


def check_replaceable(output: str, entries: Iterable[str] | None, read_stats: Callable[[], bytes],
                      flag: str = "--output", *, stage: str) -> None:
    """Refuse to replace an existing folder (its names `entries`; None: it does not exist) unless it is
    empty or the output of stage `stage` (`is_stage_output`, and its stats.json names that stage;
    `read_stats()` gives its stats.json bytes).

    `_SUCCESS` alone proves nothing: every Spark or Hadoop write leaves one, so a user's own Parquet
    folder has it too, and replacing it would delete the user's part files. Another stage's output
    (`run filter --output` a token folder) is the user's result of that stage: not ours to delete either.
    """
    names = sorted(entries or (), key=lambda name: (name.startswith("."), name))  # hidden .crc files last
    if names and not is_stage_output(names, read_stats):
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise UserError(f"{flag} {output} exists and is not a stage output (it holds {shown} but no {STATS_FILE} "
                        "naming a stage and fingerprint); a stage replaces its output whole, which would delete "
                        "them: choose a new or empty folder")
    if names and (written_by := json.loads(read_stats())["stage"]) != stage:
        raise UserError(f"{flag} {output} is the output of the {written_by} stage, not of {stage}; a stage replaces "
                        f"only its own output: choose another folder for {stage} (or delete that one first)")


def is_stage_output(names: Iterable[str], read_stats: Callable[[], bytes]) -> bool:
    """Whether a folder holding `names` was written by a stage of this project: its stats.json (written
    before the folder is renamed into place) is a JSON object with the stage's name and fingerprint."""
    if STATS_FILE not in set(names):
        return False
    try:
        stats = json.loads(read_stats())
    except (OSError, ValueError):
        return False
    return isinstance(stats, dict) and isinstance(stats.get("stage"), str) and isinstance(stats.get("fingerprint"), str)


def check_run_folder(output: str, flag: str = "--output") -> None:
    """Refuse a pipeline run folder that is itself a Parquet dataset (a Spark write: `_SUCCESS` or part
    files at its top): the stage folders written into it would mix with, and break reads of, the user's data."""
    scheme, _, path = _location(output)
    if scheme or not os.path.isdir(path):
        return
    names = sorted(os.listdir(path))
    found = [name for name in names if name == SUCCESS_FILE or name.endswith(".parquet")]
    if found:
        raise UserError(f"{flag} {output} is a Parquet dataset (it holds {', '.join(found[:3])}), not a run folder; "
                        "the pipeline writes its stage folders into the run folder: choose a new or empty folder")


def _location(path: str) -> tuple[str, str, PurePosixPath]:
    """(store scheme, host, absolute path); local paths and file:// URLs have an empty scheme."""
    parts = urlsplit(path)
    if "://" not in path or parts.scheme == "file":
        return "", "", PurePosixPath(os.path.realpath(path.removeprefix("file://")))
    scheme = _SAME_STORE.get(parts.scheme, parts.scheme)
    return scheme, parts.netloc, PurePosixPath(posixpath.normpath("/" + parts.path.lstrip("/")))


def _expand(spec: str) -> list[str]:
    """A local glob's matches; a remote glob stands for the folder above its first wildcard."""
    cut = min((spec.index(char) for char in "*?[" if char in spec), default=None)
    if cut is None:
        return [spec]
    if "://" not in spec or spec.startswith("file://"):
        matches = glob.glob(spec.removeprefix("file://"))
        if matches:
            return matches
    return [posixpath.dirname(spec[:cut]) or "."]


class StageFS(Protocol):
    """The file operations the stage contract needs (Hadoop's FileSystem in jobs/common/stage_io.py)."""

    def exists(self, path: str) -> bool: ...

    def delete(self, path: str) -> None: ...

    def rename(self, src: str, dst: str) -> None: ...

    def write_bytes(self, path: str, data: bytes) -> None: ...

    def read_bytes(self, path: str) -> bytes: ...

    def file_sizes(self, path: str) -> dict[str, int]:
        """Every file under folder `path`, by path relative to it, with its size in bytes."""
        ...


def publish(fs: StageFS, tmp: str, output: str, stats: dict, run_id: str) -> dict:
    """Move the finished folder `tmp` into place as `output` and mark it complete; return the stats written.

    Order matters on stores whose rename is copy-then-delete: stats.json (listing every file)
    goes in first, the old output loses its _SUCCESS before it is moved aside, and _SUCCESS is
    written last, in the final place, once everything else is there.
    """
    stats = {**stats, "output_files": dict(sorted(fs.file_sizes(tmp).items()))}
    fs.write_bytes(f"{tmp}/{STATS_FILE}", json.dumps(stats, indent=2, sort_keys=True).encode())
    old = f"{output}.old-{run_id}"
    if fs.exists(output):
        if fs.exists(f"{output}/{SUCCESS_FILE}"):
            fs.delete(f"{output}/{SUCCESS_FILE}")
        fs.rename(output, old)
    fs.rename(tmp, output)
    fs.write_bytes(f"{output}/{SUCCESS_FILE}", b"")
    if fs.exists(old):
        fs.delete(old)
    return stats


def complete_stats(fs: StageFS, output: str) -> dict | None:
    """The stats of `output` if it is complete: _SUCCESS, stats.json, and every listed file in place
    with its recorded size; None otherwise (then the stage runs again)."""
    if not fs.exists(f"{output}/{SUCCESS_FILE}") or not fs.exists(f"{output}/{STATS_FILE}"):
        return None
    stats = json.loads(fs.read_bytes(f"{output}/{STATS_FILE}"))
    listed = stats.get("output_files")
    if listed is not None:
        present = fs.file_sizes(output)
        if any(present.get(name) != size for name, size in listed.items()):
            return None
    return stats
