"""Data variants compared by branching from one checkpoint: most of the compute is shared.

    dataflow search variants --config search/variants.yaml [--resume]

With the warmup-stable-decay schedule (WSD; Hu et al. 2024, MiniCPM; Hägele et al. 2024) the
stable phase does not depend on where training ends, so one base run trained to the end of
its stable phase can be continued by several short decay phases, each on other data
(the multi-stage recipe of Feng et al. 2024 and OLMo 2's mid-training anneals compare data
this way). Per model size:

1. base: `base_tokens` at the peak learning rate (WSD with no decay), checkpointed at its end;
2. branches: for each variant and for a control on the base mixture unchanged, `seeds` decay
   runs of `branch_tokens` from the base checkpoint (`checkpoint.init_from`: weights and
   optimizer moments carry over, the learning rate decays linearly from the peak to the
   floor, the data stream starts afresh with the branch's seed);
3. each variant's target change against the control, with the seed noise (standard error of
   the difference of the means), and the share of each branch's compute that came from the base.

A variant is what a user changes: another mixture file, other weights, another token source
folder for a named source, or a source the search derives itself from a stage output under a
stricter filter threshold, with dedup off, or the classifier's top-k% (`derive`: kept rows
carry their measured values, so such a source is a `where` on an existing output,
re-tokenised with the base source's tokenizer; derived_sources.py). With two sizes, the rank
correlation of the variants between the sizes says whether the smaller one is big enough to
trust (`rank_transfer.py`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field, model_validator

from dataflow.atomic import write_text
from dataflow.config import PositiveFinite, StrictModel, load_config
from dataflow.errors import ConfigError, UserError
from dataflow.mix.mixture import load_mixture
from trainer.search.engine.config import TargetDataset
from trainer.search.engine.layout import SUMMARY
from trainer.search.engine.store import write_json
from trainer.search.fits.noise import beyond_noise, difference_noise
from trainer.search.fits.rank_transfer import rank_transfer
from trainer.search.reports import law_plots
from trainer.search.reports.mixture import mean_std
from trainer.search.searches.derived_sources import DerivedSource, plan_derived
from trainer.search.searches.mixture_inputs import check_same_mixture_datasets
from trainer.search.searches.sweep import (Point, SweepConfig, failures, mean_over_seeds, point, run, scores,
                                          start, statuses)

log = logging.getLogger("trainer.search")
CONTROL = "control"


class Variant(StrictModel):
    """What a branch changes in the base mixture; give `mixture`, or any of `weights`, `sources` and `derive`."""

    mixture: str | None = None
    """Another mixture file for the decay phase (replaces the base mixture entirely)."""
    weights: dict[str, PositiveFinite] = {}
    """New weights of named sources of the base mixture (normalised with the others)."""
    sources: dict[str, str] = {}
    """Another token source folder for named sources, e.g. the web source re-tokenised from a stricter filter
    threshold, with dedup off, or from the classifier's top-k%."""
    derive: dict[str, DerivedSource] = {}
    """Named sources the search makes itself from a stage output's rows (a `where`, a `top_fraction`, or another
    stage's output), tokenised like the base source into <out_dir>/derived/<variant>/<source>."""

    @model_validator(mode="after")
    def _changes_something(self) -> Variant:
        if self.mixture is None and not self.weights and not self.sources and not self.derive:
            raise ValueError("a variant needs mixture, weights, sources or derive (the control is added by the search)")
        if self.mixture is not None and (self.weights or self.sources or self.derive):
            raise ValueError("give either mixture or weights/sources/derive, not both")
        if set(self.sources) & set(self.derive):
            raise ValueError(f"{', '.join(sorted(set(self.sources) & set(self.derive)))}: give a source in sources "
                             "or in derive, not both")
        return self


class VariantConfig(SweepConfig):
    """One WSD base run per size, and decay-phase branches per data variant plus a control."""

    kind: Literal["variants"] = "variants"
    """Which search this file is for; `dataflow search status` reads it back from the folder's search.yaml."""
    base_tokens: int = Field(gt=0)
    """Training tokens of the base run's stable phase (shared by every branch)."""
    branch_tokens: int = Field(gt=0)
    """Training tokens of each decay-phase branch; base_tokens / (base + branch) is the compute each branch shares
    (80-90% in the multi-stage recipe)."""
    variants: dict[str, Variant] = Field(min_length=1)
    """Variants by name; `control` (the base mixture unchanged) is added by the search."""
    seeds: int = Field(default=2, ge=2)
    """Branches per variant and for the control, with different data-order seeds: 2 or more to measure noise."""

    @model_validator(mode="after")
    def _no_control_variant(self) -> VariantConfig:
        if CONTROL in self.variants:
            raise ValueError(f"variants: '{CONTROL}' is the search's own branch on the base mixture; rename yours")
        return self


def load_variant_config(path: str | Path) -> VariantConfig:
    return load_config(VariantConfig, path)


def variant_mixture(config: VariantConfig, name: str, variant: Variant, folder: Path,
                    derived: dict[str, str]) -> str:
    """The variant's mixture file: its own, or the base mixture with its weights and sources changed
    (`derived`: the folders of its derived sources by source name)."""
    if variant.mixture is not None:
        return variant.mixture
    base = load_mixture(config.mixture)
    unknown = (set(variant.weights) | set(variant.sources)) - set(base.sources)
    if unknown:
        raise ConfigError(f"variants.{name}: {', '.join(sorted(unknown))} not a source of {config.mixture} "
                          f"({', '.join(base.sources)})")
    data = base.model_dump(mode="json")
    data["name"] = f"{base.name}-{name}"
    for source, weight in variant.weights.items():
        data["sources"][source]["weight"] = weight
    for source, path in variant.sources.items():
        if not Path(path).is_dir():
            raise ConfigError(f"variants.{name}.sources.{source}: {path} does not exist; give a token source folder "
                              "(`dataflow run tokenize`)")
        data["sources"][source]["path"] = str(Path(path).resolve())
    for source, path in derived.items():
        data["sources"][source]["path"] = path
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / f"{name}.yaml", yaml.safe_dump(data, sort_keys=False), durable=True)
    return str(folder / f"{name}.yaml")


def run_variant_search(config: VariantConfig, resume: bool = False, retry_failed: bool = False) -> dict[str, Any]:
    store = start(config, resume, retry_failed)
    check_same_mixture_datasets(store.root, config.mixture, config.target, resume)
    _check_target_is_fixed(config)
    plans = plan_derived(config.out_dir, config.variants, load_mixture(config.mixture))
    derived = []
    if plans:  # Spark only when a variant derives a source
        from trainer.search.searches.derived_tokens import write_derived

        derived = write_derived(plans)
    folder = Path(config.out_dir) / "variants"
    mixtures = {CONTROL: config.mixture, **{
        name: variant_mixture(config, name, variant, folder,
                              {row["source"]: row["path"] for row in derived if row["variant"] == name})
        for name, variant in config.variants.items()}}
    bases = [point(config, size, config.base_tokens, 0, f"{size}-base", labels=("base",),
                   overrides={"optim": {"schedule": "wsd", "decay_frac": 0.0}}) for size in config.sizes]
    run(store, config, bases, "base runs (stable phase)")
    ready = finished_bases(bases, scores(store, config))
    branches = [point(config, size, config.branch_tokens, seed, f"{size}-{name}-s{seed}", labels=(name,),
                      mixture_path=path, overrides={
                          "optim": {"schedule": "wsd", "warmup_steps": 0, "decay_frac": 1.0},
                          "checkpoint": {"init_from": str((store.runs / f"{size}-base").resolve())}})
                for size in config.sizes for name, path in mixtures.items() for seed in range(1, config.seeds + 1)]
    run(store, config, [p for p in branches if p.size in ready], "decay-phase branches")
    rows = scores(store, config)
    summary = {**summarise(config, bases, branches, rows), "derived": derived}
    write_json(Path(config.out_dir) / SUMMARY, summary)
    law_plots.variants(Path(config.out_dir), summary)
    return summary


def variants_outcome(config: VariantConfig, summary: dict[str, Any]) -> list[str]:
    """What `dataflow search variants` prints at the end: the derived data, each variant's verdict, the sharing."""
    return [*[f"derived {row['variant']}/{row['source']}: {row['rows']:,} rows, {row['tokens']:,} tokens"
              for row in summary["derived"]],
            *[f"{entry['variant']}: {entry['verdict'] or 'control'}" for entry in summary["variants"]],
            f"compute shared with the base: {summary['shared_compute']:.1%}; report: dataflow inspect "
            f"{config.out_dir}"]


def finished_bases(bases: list[Point], rows: dict[str, dict]) -> set[str]:
    """Sizes whose base run is done. A branch starts from its base's newest checkpoint, so the branches
    of a failed or unfinished base are not started (they would continue from a checkpoint mid-way
    through the stable phase, or from one that diverged); the summary shows them without results."""
    ready = {p.size for p in bases if (rows.get(p.spec.run_id) or {}).get("status") == "done"}
    waiting = {p.spec.run_id: rows.get(p.spec.run_id) or {} for p in bases if p.size not in ready}
    for run_id, row in waiting.items():
        log.warning("base run %s is %s (%s): its branches are not started; fix the cause and --resume", run_id,
                    row.get("status", "missing"), row.get("failure") or "no failure recorded")
    if not ready:
        raise UserError(f"no base run finished ({', '.join(waiting)}): a branch never starts from a failed or "
                        "unfinished base; see each run's status.json, fix the cause and rerun with --resume")
    return ready


def _check_target_is_fixed(config: VariantConfig) -> None:
    """Refuse a target that scores a source's validation split which a variant replaces: each branch
    would be scored on other documents, and the changes against the control would mean nothing."""
    for name, variant in config.variants.items():
        replaced = sorted((set(variant.sources) | set(variant.derive)) & {
            target for target, entry in config.target.items() if not isinstance(entry, TargetDataset)})
        if replaced:
            raise ConfigError(f"variants.{name} replaces {', '.join(replaced)}, which the target scores by its own "
                              f"validation split; give that target as {{path: {replaced[0]} source folder, weight: W}} "
                              "under another name, so every branch is scored on the same documents")


def summarise(config: VariantConfig, bases: list[Point], branches: list[Point], rows: dict[str, dict]) -> dict:
    grouped = mean_over_seeds(branches, rows, lambda p: (p.size, p.spec.labels[0]))
    entries = []
    for size in config.sizes:
        control = grouped.get((size, CONTROL))
        for name in (CONTROL, *config.variants):
            values = grouped.get((size, name))
            entry = {"size": size, "variant": f"{size}/{name}", "name": name, "seeds": len(values or []),
                     "target": mean_std(values) if values else None, "delta": None, "delta_std": None, "verdict": None}
            if values and control and name != CONTROL:
                entry["delta"] = entry["target"][0] - float(np.mean(control))
                spread = [float(np.std(side, ddof=1)) if len(side) > 1 else 0.0 for side in (values, control)]
                entry["delta_std"] = difference_noise(spread[0], len(values), spread[1], len(control))
                entry["verdict"] = _verdict(entry["delta"], entry["delta_std"])
            entries.append(entry)
    base_tokens, branch_tokens = bases[0].tokens, branches[0].tokens
    count = len(branches) // len(config.sizes)
    summary = {"kind": "variants", "name": config.name, "mixture": config.mixture, "target": config.target_weights,
               "runs": statuses(rows), "failures": failures(rows), "variants": entries,
               "base_tokens": base_tokens, "branch_tokens": branch_tokens, "branches_per_size": count,
               "shared_compute": base_tokens / (base_tokens + branch_tokens),
               "compute_vs_separate_runs": (base_tokens + count * branch_tokens)
               / (count * (base_tokens + branch_tokens))}
    sizes = list(config.sizes)
    if len(sizes) >= 2:
        small, large = ({e["name"]: e["target"][0] for e in entries if e["size"] == size and e["target"]}
                        for size in sizes[:2])
        transfer = rank_transfer(small, large) if len(set(small) & set(large)) >= 3 else None
        summary["rank_transfer"] = ({"small": sizes[0], "large": sizes[1], "spearman": transfer.spearman,
                                     "p_value": transfer.p_value, "order_at_small": transfer.mixtures}
                                    if transfer else None)
    return summary


def _verdict(delta: float, noise: float | None) -> str:
    if noise is None:
        return "seed noise unknown (a branch failed)"
    if not beyond_noise(delta, noise):
        return f"within seed noise ({delta:+.4f} ± {noise:.4f} bits/byte)"
    return f"{'better' if delta < 0 else 'worse'} than control beyond seed noise ({delta:+.4f} ± {noise:.4f})"
