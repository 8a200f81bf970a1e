"""Presets: every file validates, and its name states the model's non-embedding parameter count."""

import pytest
import torch

from tests.conftest import REPO_ROOT
from trainer.config import load_train_config, preset_names
from trainer.model import GPT

SIZES = {"gpt-1m": 1e6, "gpt-10m": 10e6, "gpt-20m": 20e6, "gpt-85m": 85e6, "gpt-300m": 300e6, "gpt-1b": 1e9}


@pytest.mark.parametrize("name", preset_names())
def test_preset_validates_and_has_the_size_its_name_says(name):
    config = load_train_config(None, {"preset": name, "out_dir": "runs/x", "data": {"mixture": "m.yaml"}})
    with torch.device("meta"):  # shapes only: no memory for a billion parameters
        model = GPT(config.model.model_copy(update={"vocab_size": 32_000}))
    non_embedding = model.num_params() - model.embed.weight.numel()
    if name == "tiny":
        assert non_embedding < 0.5e6
    else:
        assert 0.8 * SIZES[name] < non_embedding < 1.2 * SIZES[name]


@pytest.mark.parametrize("run_file", sorted((REPO_ROOT / "runs").glob("*.yaml")), ids=lambda path: path.name)
def test_example_run_files_validate(run_file):
    config = load_train_config(run_file)
    assert config.preset in preset_names() and config.data.mixture
