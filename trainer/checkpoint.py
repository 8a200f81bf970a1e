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
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
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


class CheckpointError(UserError):
    """A checkpoint is missing, incomplete, corrupt or does not fit the model."""


def step_folders(folder: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints in `folder`, oldest first."""
    found = []
    for path in folder.glob("step-*"):
        match = STEP_DIR.fullmatch(path.name)
        if match and (path / MARKER).is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def resolve(path: str | Path) -> Path:
    """A `step-N` folder as given, or the newest complete one under a run's out_dir."""
    path = Path(path)
    if (path / MARKER).is_file():
        return path
    found = step_folders(path / "checkpoints")
    if not found:
        raise CheckpointError(f"{path} is neither a complete checkpoint (no {MARKER}) nor a run folder "
                              "with one under checkpoints/; give a step-N folder or a run's out_dir")
    return found[-1][1]


class Checkpointer:
    def __init__(self, folder: Path, keep_last: int, is_main: bool):
        self.folder, self.keep_last, self.is_main = folder, keep_last, is_main

    def latest(self) -> Path | None:
        found = step_folders(self.folder)
        return found[-1][1] if found else None

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             trainer_state: dict[str, Any]) -> Path:
        """Write step `step` (every rank calls this: gathering sharded weights is collective)."""
        states = {"model.pt": get_model_state_dict(model, options=FULL),
                  "optimizer.pt": get_optimizer_state_dict(model, optimizer, options=FULL),
                  "trainer.pt": trainer_state}
        final = self.folder / f"step-{step:06d}"
        if self.is_main:
            tmp = self.folder / f"{final.name}.{socket.gethostname()}-{os.getpid()}.tmp"  # one per writer
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for name, state in states.items():
                torch.save(state, tmp / name)
                fsync_path(tmp / name)  # on disk before the marker: a power cut must not leave a marked, empty file
            hashes = {name: file_sha256(tmp / name) for name in states}
            (tmp / MARKER).write_text(json.dumps({"step": step, "sha256": hashes}, indent=1) + "\n")
            fsync_path(tmp / MARKER)
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
                shutil.rmtree(path)
            except OSError as err:  # a failed delete costs disk, not the run
                log.warning("could not delete old checkpoint %s: %s", path, err)


def read(path: Path) -> dict[str, Any]:
    """The states saved in `path` ("model.pt", "optimizer.pt", "trainer.pt"), each file's sha256 checked first."""
    marker = path / MARKER
    if not marker.is_file():
        raise CheckpointError(f"checkpoint {path} is incomplete ({MARKER} is missing); delete it or give a "
                              "complete one")
    try:  # an empty or torn marker (a crash or a full disk while it was written) is a bad step, not a crash
        hashes = json.loads(marker.read_text())["sha256"]
    except (ValueError, KeyError, TypeError):
        hashes = None
    if not isinstance(hashes, dict):
        raise CheckpointError(f"checkpoint {path} is incomplete: its {MARKER} is empty or torn; delete {path} to "
                              "resume from the checkpoint before it")
    states = {}
    for name, expected in hashes.items():
        if not (path / name).is_file() or file_sha256(path / name) != expected:
            raise CheckpointError(f"checkpoint {path} is corrupt: {name} does not match the sha256 recorded "
                                  f"when it was written; delete {path} to resume from the checkpoint before it")
        try:
            states[name] = torch.load(path / name, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unpickling failure means the same to the user
            raise CheckpointError(f"checkpoint {path}: {name} cannot be loaded safely ({err.__class__.__name__}); "
                                  "it was not written by this trainer") from None
    return states


def restore(states: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Load saved weights and optimizer state into the (possibly wrapped) model."""
    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, states["model.pt"], options=options)
    set_optimizer_state_dict(model, optimizer, states["optimizer.pt"], options=options)
