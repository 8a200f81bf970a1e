"""Every bench module imports, so a moved helper cannot break a bench that no test runs end to end.

(bench/quality_ablation.py once imported a test helper by its old name and failed at its first line.)
Scripts that run inside datatrove's venv may lack `datatrove` here; nothing else may be missing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
#: bench modules and the helpers they share (bench/common/), as dotted names below `bench`
MODULES = sorted(".".join(path.relative_to(BENCH).with_suffix("").parts) for path in BENCH.rglob("*.py")
                 if path.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_bench_module_imports(module):
    try:
        importlib.import_module(f"bench.{module}")
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] != "datatrove":
            raise
