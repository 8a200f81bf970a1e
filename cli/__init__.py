"""The `dataflow` command, on top of every layer: `dataflow`, `jobs`, `classifiers` and `trainer`."""

from cli.entry import app, main

__all__ = ["app", "main"]
