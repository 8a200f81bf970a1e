"""The mixture search's file: which sources, what to minimise, the final run's budget, the proxies, the backend.

    name: mix1
    out_dir: search/mix1
    sources:
      web:   {path: tokens/web,   max_epochs: 1}
      wiki:  {path: tokens/wiki,  max_epochs: 4}
    target:
      wiki: 0.5                                                   # a source's validation split
      wikitext-test: {path: tokens/wikitext-test, weight: 0.5}    # any token dataset, same tokenizer
    final_run: {total_tokens: 20_000_000_000}
    proxy: {preset: gpt-1m, total_tokens: 2_000_000, seeds: 1}
    candidates: 48
    prior: natural
    backend: {kind: local, workers: 2}

Every field is documented below (its docstring); `dataflow search mixture --dry-run` prints
the resolved file with every default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from dataflow.config import PositiveFinite, StrictModel, load_config
from trainer.search.engine.config import SearchConfig, positive_weights
from trainer.search.fits.regression import FitConfig


class SourceLimit(StrictModel):
    """A source the mixtures draw from, and how often the final run may repeat it."""

    path: str
    """Source folder written by `dataflow run tokenize` (`train/` and `validation/` token datasets)."""
    max_epochs: float = Field(default=1.0, gt=0)
    """Most passes over this source's training tokens the final run (and each proxy) may take."""


class FinalRun(StrictModel):
    """The run the picked mixture is for."""

    total_tokens: int = Field(gt=0)
    """Training tokens of the final run: every candidate must be feasible for it (epochs <= max_epochs)."""


class ProxyConfig(StrictModel):
    """The small model trained once per candidate and seed."""

    preset: str = "tiny"
    """Trainer preset (`trainer/presets/`) of the proxies."""
    total_tokens: int = Field(default=200_000, gt=0)
    """Training tokens per proxy run; max_steps is this over the preset's tokens per step, rounded up. The
    default with `tiny` (391 steps, about 50 CPU seconds) had a seed std an eighteenth of the spread of
    three candidates on real sources, better than the same budget at seq_len 128 (docs/search/proxy-recipe.md)."""
    seeds: int = Field(default=1, gt=0)
    """Proxy runs per sampled candidate, with different weight-initialisation and data-order seeds."""
    confirm_seeds: int = Field(default=3, gt=0)
    """Seeds of the confirmation runs (natural, uniform, best sampled, predicted best); 3 or more to
    report a meaningful std."""
    target_tokens: int = Field(default=262_144, gt=0)
    """Tokens of each target dataset scored by every proxy (all of a smaller split), in windows of seq_len, once
    at the end of the run: enough that one run's standard error is about 0.005 bits/byte or less
    (docs/search/proxy-recipe.md has the figures and the cost). `proxy.train` can still set `eval`."""
    train: dict[str, Any] = {}
    """Run-config values laid over the preset for every proxy (e.g. `{optim: {lr: 1e-3}}`); `out_dir`,
    `max_steps`, `seed` and `data.mixture` are set by the search."""


class TransferConfig(StrictModel):
    """Does the proxy rank mixtures as a larger model does (RegMix, Liu et al. 2024, figure 4)? `mixtures`
    candidates spread over the candidates' ranking are trained at a larger proxy, `seeds` seeds each, and with
    as many seeds at the search's proxy; the summary gives Spearman's rho between the two rankings."""

    preset: str = "tiny"
    total_tokens: int = Field(gt=0)
    """Training tokens of each larger run: 4-10x the proxies' compute makes a useful check."""
    train: dict[str, Any] = {}
    """Run-config values laid over the preset (e.g. a wider model), as `proxy.train`."""
    mixtures: int = Field(default=8, ge=3)
    seeds: int = Field(default=2, gt=0)


class MixtureConfig(SearchConfig):
    """A data-constraint search: which mixture of these sources trains the best model at this budget.
    Its folder (out_dir) also holds best/: the pick's mixture file and run file."""

    ADDABLE_ON_RESUME = ("transfer",)
    STORE_OUT_DIR = True

    sources: dict[str, SourceLimit] = Field(min_length=2)
    """The sources by name, with their repetition limits."""
    final_run: FinalRun
    """The budget the picked mixture must be feasible for."""
    proxy: ProxyConfig = ProxyConfig()
    """The proxy runs."""
    candidates: int = Field(default=48, ge=3)
    """Mixtures sampled and trained as proxies; at least 3, as the fit's leave-one-out needs 3 scored
    mixtures (`regression.fit_surface`)."""
    prior: Literal["natural"] | dict[str, float] = "natural"
    """Centre of the sampling: `natural` (each source's share of all training tokens) or weights by source."""
    concentrations: list[PositiveFinite] = Field(default=[0.3, 1.0, 3.0, 10.0], min_length=1)
    """Dirichlet concentrations, taken in turn: alpha = c * K * prior. c = 1 with a uniform prior is
    uniform on the simplex; small c gives extreme mixtures, large c mixtures near the prior."""
    seed: int = 0
    """Seed of the candidate sampling and the surface search."""
    fit: FitConfig = FitConfig()
    """Regression and surface search."""
    transfer: TransferConfig | None = None
    """Off by default: the rank-transfer check, run after the confirmations (its runs cost the most)."""

    @field_validator("prior")
    @classmethod
    def _prior_weights_are_positive(cls, value: Any) -> Any:
        return positive_weights(value) if isinstance(value, dict) else value


def load_mixture_config(path: str | Path) -> MixtureConfig:
    return load_config(MixtureConfig, path)
