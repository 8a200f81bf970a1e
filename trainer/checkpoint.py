"""Checkpoints: step folders that count only when complete, loaded without arbitrary pickles.

After torchtitan's checkpointer: a step is written to `step-000100.tmp/`, its marker
`complete.json` (the step and the sha256 of every file) is written last, and the folder is
renamed to `step-000100/`; files, marker and rename are fsynced in that order. Resume takes the
newest folder with a marker whose files match it, so a crash while writing leaves nothing
half-written to load, and a corrupt newest step (a file that does not match, an empty or torn
marker) falls back to the one before, as does a spike rollback; the last
`keep_last` steps are kept.

The model and optimizer are saved as full (unsharded) state dicts through
`torch.distributed.checkpoint.state_dict`, keyed by parameter names without wrapper
prefixes, so a checkpoint loads into a single process, DDP or FSDP2 alike, and into another
run (branching). Files are read back with `torch.load(weights_only=True)` after their sha256
is checked, so a corrupt or foreign file is refused with a message, never unpickled. Every
rank reads the files, so `out_dir` must be on a filesystem all ranks see.

`checkpoint.dir` may instead be an object-store URL (s3://, any fsspec store,
dataflow/object_store.py): a step is then written locally, its files uploaded to
`<dir>/step-N/` and its marker last, which is what makes it count (no rename on a store); reading
one downloads its three files to a temporary folder and checks them as above.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from pydantic import Field
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_model_state_dict,
                                                     set_optimizer_state_dict)

from dataflow.config import StrictModel
from dataflow.errors import UserError
from dataflow.fsync import fsync_path
from dataflow.object_store import FsspecFS, download, is_store, join, upload, url_fs
from dataflow.shards import file_sha256

log = logging.getLogger(__name__)

MARKER = "complete.json"
STEP_DIR = re.compile(r"step-(\d+)")
FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


class CheckpointConfig(StrictModel):
    """When to save, how many to keep, and where a branched run starts from."""

    every_steps: int = Field(default=100, ge=0)
    """Save every this many steps (and at the last step); 0 saves only at the last step."""
    keep_last: int = Field(default=3, gt=0)
    """Complete checkpoints kept; older ones are deleted after each save."""
    init_from: str | None = None
    """Start a new run from another run's checkpoint (a `step-N` folder, or a run's out_dir for its
    newest): weights and optimizer moments carry over, the step, data stream and schedule start
    afresh (branching, e.g. anneal-phase comparisons of mixtures). Ignored when resuming."""
    dir: str | None = None
    """Where checkpoints go and are resumed from: default `<out_dir>/checkpoints`; an object-store URL
    (s3://bucket/runs/x/checkpoints, any fsspec store) keeps them there, for clusters without shared disk."""


class CheckpointError(UserError):
    """A checkpoint is missing, incomplete, corrupt or does not fit the model."""


def step_folders(folder: Path | str) -> list[tuple[int, Path | str]]:
    """Complete checkpoints in `folder` (a path or an object-store URL), oldest first."""
    if is_store(folder):
        fs, prefix = url_fs(str(folder))
        fs.invalidate_cache()
        markers = fs.glob(f"{prefix.rstrip('/')}/step-*/{MARKER}")
        paths = [join(folder, name.split("/")[-2]) for name in markers]
    else:
        paths = [path for path in Path(folder).glob("step-*") if (path / MARKER).is_file()]
    found = []
    for path in paths:
        match = STEP_DIR.fullmatch(Path(str(path)).name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def resolve(path: str | Path) -> Path | str:
    """A `step-N` folder as given, or the newest complete one under a run's out_dir."""
    path = path.rstrip("/") if is_store(path) else Path(path)
    if has_marker(path):
        return path
    found = step_folders(join(path, "checkpoints"))
    if not found:
        raise CheckpointError(f"{path} is neither a complete checkpoint (no {MARKER}) nor a run folder "
                              "with one under checkpoints/; give a step-N folder or a run's out_dir")
    return found[-1][1]


def has_marker(path: Path | str) -> bool:
    """Whether `path` holds a checkpoint's marker."""
    if is_store(path):
        fs, name = url_fs(join(path, MARKER))
        fs.invalidate_cache()
        return fs.isfile(name)
    return (Path(path) / MARKER).is_file()


class Checkpointer:
    def __init__(self, folder: Path | str, keep_last: int, is_main: bool):
        self.folder, self.keep_last, self.is_main = folder, keep_last, is_main

    def latest(self) -> Path | str | None:
        found = step_folders(self.folder)
        return found[-1][1] if found else None

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             trainer_state: dict[str, Any]) -> Path | str:
        """Write step `step` (every rank calls this: gathering sharded weights is collective)."""
        states = {"model.pt": get_model_state_dict(model, options=FULL),
                  "optimizer.pt": get_optimizer_state_dict(model, optimizer, options=FULL),
                  "trainer.pt": trainer_state}
        final = join(self.folder, f"step-{step:06d}")
        if self.is_main and is_store(self.folder):
            with tempfile.TemporaryDirectory(prefix="dataflow-checkpoint-") as tmp:
                _write_step(Path(tmp), step, states)
                FsspecFS().delete(final)  # the same step again after a rollback: its old marker goes first
                for name in (*states, MARKER):  # the marker last: it is what makes the step count
                    upload(Path(tmp, name), join(final, name))
            self._purge()
        elif self.is_main:
            tmp = self.folder / f"{final.name}.{socket.gethostname()}-{os.getpid()}.tmp"  # one per writer
            shutil.rmtree(tmp, ignore_errors=True)
            _write_step(tmp, step, states)
            shutil.rmtree(final, ignore_errors=True)  # the same step again after a rollback
            tmp.rename(final)
            fsync_path(self.folder)  # the rename itself
            self._purge()
        if dist.is_initialized():
            dist.barrier()
        return final

    def read_newest(self) -> tuple[Path, dict[str, Any]]:
        """The newest checkpoint that reads back intact, and its states. A corrupt newer one is
        skipped with a warning: a requeued Slurm job resumes from the one before instead of
        failing on the same file forever (the corrupt step is overwritten when it is saved again)."""
        found = step_folders(self.folder)
        for _, path in reversed(found):
            try:
                return path, read(path)
            except CheckpointError as err:
                log.warning("resuming from an older checkpoint: %s", err)
        raise CheckpointError(f"none of the {len(found)} checkpoints under {self.folder} reads back intact; "
                              "delete them to start afresh, or restore them from a backup")

    def _purge(self) -> None:
        for _, path in step_folders(self.folder)[:-self.keep_last]:
            try:
                if is_store(path):
                    FsspecFS().delete(path)
                else:
                    shutil.rmtree(path)
            except OSError as err:  # a failed delete costs disk, not the run
                log.warning("could not delete old checkpoint %s: %s", path, err)


def _write_step(tmp: Path, step: int, states: dict[str, Any]) -> None:
    """A step's files into the new folder `tmp`, each fsynced, then the marker listing their sha256."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name, state in states.items():
        torch.save(state, tmp / name)
        fsync_path(tmp / name)  # on disk before the marker: a power cut must not leave a marked, empty file
    hashes = {name: file_sha256(tmp / name) for name in states}
    (tmp / MARKER).write_text(json.dumps({"step": step, "sha256": hashes}, indent=1) + "\n")
    fsync_path(tmp / MARKER)


def read(path: Path | str) -> dict[str, Any]:
    """The states saved in `path` ("model.pt", "optimizer.pt", "trainer.pt"), each file's sha256 checked first;
    a step on object storage is downloaded to a temporary folder first."""
    if not is_store(path):
        return _read_local(Path(path), path)
    fs, prefix = url_fs(str(path))
    fs.invalidate_cache()
    with tempfile.TemporaryDirectory(prefix="dataflow-checkpoint-") as tmp:
        for name in fs.ls(prefix, detail=False) if fs.exists(prefix) else []:  # none: "incomplete" below
            base = name.rstrip("/").split("/")[-1]
            download(join(path, base), Path(tmp, base))
        return _read_local(Path(tmp), path)


def _read_local(path: Path, shown: Path | str) -> dict[str, Any]:
    """`read` of a local folder; messages name `shown`, where the step lives."""
    marker = path / MARKER
    if not marker.is_file():
        raise CheckpointError(f"checkpoint {shown} is incomplete ({MARKER} is missing); delete it or give a "
                              "complete one")
    try:  # an empty or torn marker (a crash or a full disk while it was written) is a bad step, not a crash
        hashes = json.loads(marker.read_text())["sha256"]
    except (ValueError, KeyError, TypeError):
        hashes = None
    if not isinstance(hashes, dict):
        raise CheckpointError(f"checkpoint {shown} is incomplete: its {MARKER} is empty or torn; delete {shown} to "
                              "resume from the checkpoint before it")
    states = {}
    for name, expected in hashes.items():
        if not (path / name).is_file() or file_sha256(path / name) != expected:
            raise CheckpointError(f"checkpoint {shown} is corrupt: {name} does not match the sha256 recorded "
                                  f"when it was written; delete {shown} to resume from the checkpoint before it")
        try:
            states[name] = torch.load(path / name, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unpickling failure means the same to the user
            raise CheckpointError(f"checkpoint {shown}: {name} cannot be loaded safely ({err.__class__.__name__}); "
                                  "it was not written by this trainer") from None
    return states


def restore(states: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Load saved weights and optimizer state into the (possibly wrapped) model."""
    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, states["model.pt"], options=options)
    set_optimizer_state_dict(model, optimizer, states["optimizer.pt"], options=options)
