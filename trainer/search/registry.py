"""The search kinds: each one's config model, run function and `dataflow inspect` view, in one table.

A search file names its kind (`kind: scaling`); a file without one is a mixture search. The CLI's
`search` commands load, run and read back search files through this table (`load_search_as`,
`run_search`, `load_any_search`), and `dataflow inspect SEARCH_FOLDER` renders a summary.json with
the view of its kind (`add_inspect_view`). Adding a kind is a module under `searches/` and one
line in `kinds()` (and in `views()` when it has a view of its own): docs/search/layers.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from dataflow.config import load_config, load_yaml, validate_config
from trainer.search.engine.config import SearchConfig
from trainer.search.engine.layout import is_search_folder
from trainer.search.reports.inspect import View, search_report


@dataclass(frozen=True)
class SearchKind:
    config: type[SearchConfig]
    """The search file's model (extends the engine's `SearchConfig`)."""
    run: Callable[..., dict[str, Any]]
    """`run(config, resume=..., retry_failed=...)`: plans, runs and fits; returns the summary it wrote."""


def kinds() -> dict[str, SearchKind]:
    """kind -> its config and run function; imported on use, as the CLI's commands import their work."""
    from trainer.search.searches.hparams import HparamConfig, run_hparam_search
    from trainer.search.searches.mixture import run_mixture_search
    from trainer.search.searches.mixture_config import MixtureConfig
    from trainer.search.searches.scaling import ScalingConfig, run_scaling_search
    from trainer.search.searches.variants import VariantConfig, run_variant_search

    return {"mixture": SearchKind(MixtureConfig, run_mixture_search),
            "scaling": SearchKind(ScalingConfig, run_scaling_search),
            "variants": SearchKind(VariantConfig, run_variant_search),
            "hparams": SearchKind(HparamConfig, run_hparam_search)}


def views() -> dict[str, View]:
    """kind -> the view of its summary.json; apart from `kinds()` because inspecting reads files only
    and must not import the searches (they load torch). The mixture view is `search_report`'s own; a kind
    missing here gets the plain one."""
    from trainer.search.reports.inspect_laws import hparams_view, scaling_view, variants_view

    return {"scaling": scaling_view, "variants": variants_view, "hparams": hparams_view}


def load_search_as(path: str | Path, kind: str) -> SearchConfig:
    return load_config(kinds()[kind].config, path)


def run_search(search: SearchConfig, resume: bool, retry_failed: bool = False) -> dict[str, Any]:
    kind = getattr(search, "kind", "mixture")
    return kinds()[kind].run(search, resume=resume, retry_failed=retry_failed)


def load_any_search(path: str | Path) -> SearchConfig:
    """The search file at `path` as its own config model; files without `kind` are mixture searches."""
    data = load_yaml(path)
    return validate_config(kinds()[data.get("kind", "mixture")].config, data, str(path))


def add_inspect_view() -> None:
    """Let `dataflow inspect` recognise search folders and render them (dataflow/inspect imports no trainer)."""
    from dataflow.inspect import add_kind

    add_kind("search", is_search_folder, partial(search_report, views=views()))
