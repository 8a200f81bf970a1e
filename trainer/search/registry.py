"""The search kinds: each one's config model, run function and `dataflow inspect` view, in one table.

A search file names its kind (`kind: scaling`); a file without one is a mixture search. The CLI's
`search` group has one command per entry of `KINDS` (its help, `--config` help and printed outcome come
from the entry), loads, runs and reads back search files through this table (`load_search_as`,
`run_search`, `load_any_search`), and `dataflow inspect SEARCH_FOLDER` renders a summary.json with
the view of its kind (`add_inspect_view`). Adding a kind is a module under `searches/`, a `KindCode`
loader and one entry in `KINDS` (and one in `views()` when it has a view of its own): docs/search/layers.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainer.search.engine.config import SearchConfig
    from trainer.search.reports.inspect import View


@dataclass(frozen=True)
class KindCode:
    """A kind's code, imported only when a search of that kind is loaded or run (the searches load torch)."""

    config: type[SearchConfig]
    """The search file's model (extends the engine's `SearchConfig`)."""
    run: Callable[..., dict[str, Any]]
    """`run(config, resume=..., retry_failed=...)`: plans, runs and fits; returns the summary it wrote."""
    outcome: Callable[[Any, dict[str, Any]], list[str]]
    """`outcome(config, summary)`: the lines `dataflow search KIND` prints when the search has finished."""


@dataclass(frozen=True)
class SearchKind:
    """One kind of search: what its `dataflow search KIND` command shows, without importing it, and its code."""

    help: str
    """The command's help; its first line is the kind's line in `dataflow search --help`."""
    config_help: str
    """The help of the command's `--config` (which file, which model reads it)."""
    code: Callable[[], KindCode]
    """Imports the kind's modules and returns its config model, run and outcome functions."""
    dry_run: bool = False
    """Whether the command has `--dry-run` (print the resolved search file and exit)."""


def _mixture() -> KindCode:
    from trainer.search.searches.mixture import mixture_outcome, run_mixture_search
    from trainer.search.searches.mixture_config import MixtureConfig

    return KindCode(MixtureConfig, run_mixture_search, mixture_outcome)


def _scaling() -> KindCode:
    from trainer.search.searches.scaling import ScalingConfig, run_scaling_search, scaling_outcome

    return KindCode(ScalingConfig, run_scaling_search, scaling_outcome)


def _variants() -> KindCode:
    from trainer.search.searches.variants import VariantConfig, run_variant_search, variants_outcome

    return KindCode(VariantConfig, run_variant_search, variants_outcome)


def _hparams() -> KindCode:
    from trainer.search.searches.hparams import HparamConfig, hparams_outcome, run_hparam_search

    return KindCode(HparamConfig, run_hparam_search, hparams_outcome)


MIXTURE_HELP = """Sample feasible mixtures, train a proxy on each, fit, pick the best and confirm it against baselines.

The fit is chosen by cross-validation among four (see `search fit --help` and docs/search/mixture.md);
summary.json records every fit's cross-validated MAE and Spearman and the chosen one.

Verdicts: "the pick beats X by M bits/byte, more than the seed std S" means the confirmed mean of
the pick is lower than baseline X's by more than the larger of their seed stds; "does NOT beat"
means the margin is within seed noise or negative: look at the fit's Spearman (below ~0.7 the
proxies do not rank mixtures reliably) and at whether the pick sits on a max_epochs bound.
"""

KINDS: dict[str, SearchKind] = {
    "mixture": SearchKind(MIXTURE_HELP, "search file (YAML, trainer/search/searches/mixture_config.py)", _mixture,
                          dry_run=True),
    "scaling": SearchKind("Train a grid of model sizes x token budgets, fit L(N, D) with intervals, predict held-out "
                          "runs.", "scaling search file (YAML, trainer/search/searches/scaling.py)", _scaling),
    "variants": SearchKind("One WSD base run, then decay-phase branches per data variant and a control; gains with "
                           "seed noise.", "variant search file (YAML, trainer/search/searches/variants.py)",
                           _variants),
    "hparams": SearchKind("Learning-rate sweeps at several sizes (grid, or Optuna with pruning); the optimum as a "
                          "power law of size.",
                          "hyper-parameter search file (YAML, trainer/search/searches/hparams.py)", _hparams),
}
"""kind -> its entry. The CLI's `search` group has one command per entry, in this order, built when the CLI
is imported (`cli/search.py`): so this module imports nothing at its top that is slow to import (the searches
load torch, the inspector pandas), and each kind's code is imported by its `code` only when it is used."""


def views() -> dict[str, View]:
    """kind -> the view of its summary.json; apart from `KINDS` because inspecting reads files only
    and must not import the searches (they load torch). The mixture view is `search_report`'s own; a kind
    missing here gets the plain one."""
    from trainer.search.reports.inspect_laws import hparams_view, scaling_view, variants_view

    return {"scaling": scaling_view, "variants": variants_view, "hparams": hparams_view}


def load_search_as(path: str | Path, kind: str) -> SearchConfig:
    from dataflow.config import load_config

    return load_config(KINDS[kind].code().config, path)


def run_search(search: SearchConfig, resume: bool, retry_failed: bool = False) -> dict[str, Any]:
    kind = getattr(search, "kind", "mixture")
    return KINDS[kind].code().run(search, resume=resume, retry_failed=retry_failed)


def load_any_search(path: str | Path) -> SearchConfig:
    """The search file at `path` as its own config model; files without `kind` are mixture searches."""
    from dataflow.config import load_yaml, validate_config

    data = load_yaml(path)
    return validate_config(KINDS[data.get("kind", "mixture")].code().config, data, str(path))


def add_inspect_view() -> None:
    """Let `dataflow inspect` recognise search folders and render them (dataflow/inspect imports no trainer)."""
    from dataflow.inspect import add_kind
    from trainer.search.engine.layout import is_search_folder
    from trainer.search.reports.inspect import search_report

    add_kind("search", is_search_folder, partial(search_report, views=views()))
