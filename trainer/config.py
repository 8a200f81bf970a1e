"""The run config: one pydantic model made of each component's section, loaded from YAML.

A run file names a preset (`trainer/presets/<name>.yaml`: a model size with the batch and
learning rate that suit it) and overrides what it needs; flags override the file
(`--max-steps 200`, `--optim.lr 3e-4`). The merge order is preset, then file, then flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from dataflow.config import StrictModel, deep_merge, load_yaml, validate_config
from dataflow.errors import ConfigError
from trainer.checkpoint import CheckpointConfig
from trainer.data import DataConfig
from trainer.evaluate import EvalConfig
from trainer.guard import GuardConfig
from trainer.metrics import LogConfig
from trainer.model import GPTConfig
from trainer.optim import OptimConfig

PRESETS = Path(__file__).parent / "presets"


class TrainConfig(StrictModel):
    """Everything a training run needs; `out_dir` and `data.mixture` have no default."""

    out_dir: str
    """Run folder: checkpoints, metrics.jsonl, events.jsonl, TensorBoard logs and the resolved config."""
    data: DataConfig
    """The mixture and the batch."""
    max_steps: int = Field(default=1000, gt=0)
    """Optimizer steps; the schedule decays over them and the mixture's epochs are checked against them."""
    preset: str | None = None
    """Name of a file in trainer/presets/ whose values this config starts from."""
    seed: int = 0
    """Seed of the weight initialisation (the data stream follows the mixture's seed)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto` takes the GPU when torch sees one."""
    bf16: bool = True
    """Compute in bfloat16 on GPU (autocast, or FSDP's mixed precision under FSDP); weights and optimizer
    state stay fp32. Has no effect on CPU."""
    compile: bool = False
    """torch.compile each transformer block (faster steps on GPU after a compile of a minute or so)."""
    collective_timeout_seconds: float = Field(default=600, gt=0)
    """How long a rank waits for the others (process-group start, every collective) before failing:
    when one rank dies, the rest end too instead of hanging the job."""
    parallel: Literal["ddp", "fsdp"] = "ddp"
    """With more than one rank: replicate the model (DDP) or shard weights, gradients and optimizer state (FSDP2)."""
    model: GPTConfig = GPTConfig()
    """The model's shape."""
    optim: OptimConfig = OptimConfig()
    """AdamW and the learning-rate schedule."""
    eval: EvalConfig = EvalConfig()
    """Validation loss and bits-per-byte."""
    checkpoint: CheckpointConfig = CheckpointConfig()
    """Saving, keeping and branching."""
    guard: GuardConfig = GuardConfig()
    """Loss-spike guard."""
    log: LogConfig = LogConfig()
    """Metrics outputs."""


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def load_train_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Preset, then the YAML file at `path`, then `overrides` (from flags), validated together."""
    data = load_yaml(path) if path is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, not {type(data).__name__}")
    data = deep_merge(data, overrides or {})
    preset = data.get("preset")
    if preset is not None:
        if preset not in preset_names():
            raise ConfigError(f"unknown preset '{preset}'; known presets: {', '.join(preset_names())}")
        data = deep_merge(load_yaml(PRESETS / f"{preset}.yaml"), data)
    return validate_config(TrainConfig, data, str(path) if path is not None else "command-line flags")
