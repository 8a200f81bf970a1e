"""Reading what a stage wrote: its `stats.json` (the counts the tests pin)."""

from __future__ import annotations

import json
from pathlib import Path


def stats_of(folder: Path) -> dict:
    """The stage's stats.json: rows in and out, rows rejected by reason, the stage's extras."""
    return json.loads((folder / "stats.json").read_text())
