"""The `dataflow` command, on top of every layer: `dataflow`, `jobs`, `classifiers` and `trainer`."""

from cli.search import app, main

__all__ = ["app", "main"]
