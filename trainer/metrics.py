"""Run metrics: JSONL files as the record, TensorBoard and W&B as views, a progress bar for people.

`metrics.jsonl` holds one row per logged step (`kind: train`) and per evaluation
(`kind: eval`); `events.jsonl` holds what the trainer decided (spikes skipped, rollbacks,
checkpoints, resumes), each with the step and the sources of the batch. Only rank 0 writes.
On resume the metrics rows from steps that will run again are dropped, so `metrics.jsonl`
reads as one run; `events.jsonl` keeps everything.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from tqdm import tqdm

from dataflow.config import StrictModel
from dataflow.errors import ConfigError

log = logging.getLogger(__name__)


class LogConfig(StrictModel):
    """Where and how often metrics go."""

    every_steps: int = Field(default=10, gt=0)
    """Write a metrics row every this many steps."""
    tensorboard: bool = True
    """Also write TensorBoard event files under `out_dir/tensorboard`."""
    wandb: Literal["off", "online", "offline"] = "off"
    """Also log to Weights & Biases (needs `pip install wandb`); `offline` writes under out_dir to sync later."""
    wandb_project: str = "dataflow"
    """W&B project name."""


class MetricsLog:
    def __init__(self, run_dir: Path, config: LogConfig, run_config: dict[str, Any], *, enabled: bool,
                 start_step: int, max_steps: int):
        self.enabled = enabled
        self.tensorboard = self.wandb = None
        self.progress = tqdm(total=max_steps, initial=start_step, unit="step", dynamic_ncols=True,
                             disable=not (enabled and sys.stderr.isatty()))
        if not enabled:
            return
        self.metrics_file, self.events_file = run_dir / "metrics.jsonl", run_dir / "events.jsonl"
        _drop_rows_from(self.metrics_file, start_step)
        _drop_rows_from(self.events_file, sys.maxsize)  # events are the run's history: only a partial line goes
        if config.tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when asked for
            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step)
        if config.wandb != "off":
            if importlib.util.find_spec("wandb") is None:
                raise ConfigError(f"log.wandb is {config.wandb} but wandb is not installed; "
                                  "pip install wandb, or set log.wandb: off")
            import wandb
            self.wandb = wandb.init(project=config.wandb_project, dir=str(run_dir), mode=config.wandb,
                                    name=run_dir.name, config=run_config)

    def progress_to(self, steps_done: int, loss: float, lr: float) -> None:
        """Move the progress bar (interactive runs only) after each step; a rollback moves it back."""
        self.progress.update(steps_done - self.progress.n)
        self.progress.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", refresh=False)

    def log(self, step: int, kind: Literal["train", "eval"], values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        _append(self.metrics_file, {"step": step, "kind": kind, **values})
        flat = dict(_flatten(values, f"{kind}/"))
        if self.tensorboard:
            for key, value in flat.items():
                self.tensorboard.add_scalar(key, value, step)
        if self.wandb:
            self.wandb.log(flat, step=step)

    def event(self, step: int, kind: str, message: str, level: int = logging.INFO, **details: Any) -> None:
        """Record a decision of the trainer, and say it in the log."""
        if not self.enabled:
            return
        log.log(level, "step %d: %s", step, message)
        _append(self.events_file, {"step": step, "event": kind, "message": message, **details})

    def close(self) -> None:
        self.progress.close()
        if self.tensorboard:
            self.tensorboard.close()
        if self.wandb:
            self.wandb.finish()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file; a last line without its newline (a kill during an append) is left out."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text if text.endswith("\n") else text[:text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line]


def _drop_rows_from(path: Path, step: int) -> None:
    """Keep the rows of steps before `step`, and drop a partial last line, so appends start clean."""
    if not path.is_file():
        return
    rows = read_jsonl(path)
    kept = [row for row in rows if row["step"] < step]
    if len(kept) != len(rows) or not path.read_bytes().endswith(b"\n"):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in kept), encoding="utf-8")
        tmp.replace(path)  # atomic: a kill now leaves the old file or the new one


def _append(path: Path, row: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _flatten(values: dict[str, Any], prefix: str):
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}/")
        elif isinstance(value, (int, float)):
            yield f"{prefix}{key}", value
