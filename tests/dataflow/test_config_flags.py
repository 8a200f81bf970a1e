"""Flags generated from nested config models override the YAML key by key."""

import argparse

from dataflow.config import StrictModel, add_model_flags, flag_overrides, with_overrides


class Optim(StrictModel):
    lr: float = 1e-3
    """Peak learning rate."""
    warmup_steps: int = 10
    """Steps of linear warmup."""


class Run(StrictModel):
    max_steps: int = 100
    """Optimizer steps."""
    compile: bool = False
    """Compile the model."""
    optim: Optim = Optim()
    """The optimizer."""


def parse(argv):
    parser = argparse.ArgumentParser()
    add_model_flags(parser, Run)
    return flag_overrides(parser.parse_args(argv), Run)


def test_nested_fields_get_dotted_flags_and_override_only_what_is_given():
    overrides = parse(["--optim.warmup-steps", "5", "--compile"])
    assert overrides == {"compile": True, "optim": {"warmup_steps": 5}}
    config = with_overrides(Run(optim=Optim(lr=0.1)), overrides)
    assert config == Run(compile=True, optim=Optim(lr=0.1, warmup_steps=5))


def test_no_flags_means_no_overrides():
    assert parse([]) == {}
