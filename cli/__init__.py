"""The `dataflow` command, on top of every layer: `dataflow`, `jobs`, `classifiers` and `trainer`."""

from cli.main import app, main

__all__ = ["app", "main"]
