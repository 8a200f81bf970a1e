"""Options of `dataflow inspect PATH`, shared by every kind of output."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InspectOptions:
    sample: int = 0
    """Show this many rows (Parquet) or documents/sequences (token outputs, as ids) picked at random."""
    where: str | None = None
    """Filter rows before counting (Parquet and documents/ tables), `dataflow/inspect/where.py`."""
    verify: bool = False
    """Hash every shard and check its structure (token datasets, mixtures)."""
    rejected: int = 0
    """Show this many example rows of every rejection reason from a stage's rejected/."""
    decode: int = 0
    """Decode this many random documents or sequences to text with the manifest's tokenizer."""
    sequence: int | None = None
    """Name the documents inside this sequence of a mixture output (`dataflow/mix/provenance.py`)."""
    tokenizer: str | None = None
    """Decode with this tokenizer.json instead of the manifest's path (its sha256 must match)."""
    top: int = 10
    """Values per breakdown table."""
    bins: int = 20
    """Bins per histogram."""
    seed: int = 0
    """Seed of every random pick (samples, decoded items, histogram samples)."""
