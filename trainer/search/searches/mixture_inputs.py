"""What a search's sources and targets hold, checked before any run starts.

Every problem a user can fix is one line naming the field: a source folder that is not a
token source, sources or targets made with different tokenizers, a target naming a source
without a validation split, a prior that the final run's budget cannot meet. Only manifests
are read (and the validation splits' sizes), so the checks take milliseconds. The manifests'
sha256 are recorded in the search folder, and a `--resume` on other data is refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataflow.atomic import write_text
from dataflow.config import deep_merge, load_yaml
from dataflow.errors import ConfigError, InputError
from dataflow.mix.mixture import epochs_at, load_mixture, share_limits
from dataflow.shards import MANIFEST, TokenDataset, file_sha256, open_split, split_path
from trainer.config import PRESETS, load_train_config, preset_names
from trainer.search.engine.config import TargetDataset
from trainer.search.engine.layout import DATASETS
from trainer.search.searches.mixture_config import MixtureConfig


@dataclass(frozen=True)
class Proxy:
    """The proxies' resolved run config and what it implies."""

    train: dict[str, Any]
    """Preset and `proxy.train` merged, max_steps set; out_dir, seed and data.mixture come per run."""
    seq_len: int
    tokens_per_step: int
    max_steps: int

    @property
    def total_tokens(self) -> int:
        return self.max_steps * self.tokens_per_step


@dataclass(frozen=True)
class SearchInputs:
    available_tokens: dict[str, int]
    """Training tokens per source."""
    max_epochs: dict[str, float]
    eval_datasets: dict[str, str]
    """Target datasets that are not sources: name -> path, passed to the trainer's eval.datasets."""
    proxy: Proxy
    limits: dict[str, float]
    """Largest feasible share per source: the tighter of the final run's and the proxy's limits."""
    natural: dict[str, float]
    """Each source's share of all training tokens."""
    manifests: dict[str, dict[str, str]]
    """Every token dataset the search trains or scores on, by field: its manifest's path and sha256 (the
    manifest lists every shard's sha256, so a re-tokenised dataset has another)."""
    transfer_proxy: Proxy | None = None
    """The larger runs of the rank-transfer check, when `transfer` is set."""


def read_inputs(config: MixtureConfig) -> SearchInputs:
    proxy = resolve_proxy(config, config.proxy.preset, config.proxy.total_tokens, config.proxy.train, "proxy")
    transfer = config.transfer and resolve_proxy(config, config.transfer.preset, config.transfer.total_tokens,
                                                 config.transfer.train, "transfer")
    eval_datasets, target_tokenizers = _read_targets(config, proxy.seq_len)
    available, source_tokenizers = _read_sources(config)
    _same_tokenizer({**target_tokenizers, **source_tokenizers})
    max_epochs = {name: source.max_epochs for name, source in config.sources.items()}
    limits = {name: min(final, at_proxy) for (name, final), at_proxy in zip(
        share_limits(available, max_epochs, config.final_run.total_tokens).items(),
        share_limits(available, max_epochs, proxy.total_tokens).values())}
    everything = sum(available.values())
    inputs = SearchInputs(available_tokens=available, max_epochs=max_epochs,
                          eval_datasets=eval_datasets, proxy=proxy, limits=limits,
                          natural={name: count / everything for name, count in available.items()},
                          manifests=dataset_manifests({name: s.path for name, s in config.sources.items()},
                                                      config.target),
                          transfer_proxy=transfer or None)
    if sum(limits.values()) < 1:
        raise ConfigError(f"no mixture of the sources is feasible: at final_run.total_tokens "
                          f"{config.final_run.total_tokens:,} their max_epochs allow at most "
                          f"{sum(limits.values()):.3g} "
                          "of the budget in all; lower the budget, raise max_epochs or add data")
    check_feasible(prior_weights(config, inputs), inputs, config, "prior")
    return inputs


def _read_targets(config: MixtureConfig, seq_len: int) -> tuple[dict[str, str], dict[str, Any]]:
    """Target datasets that are not sources (name -> path), and every target's tokenizer by field."""
    tokenizers, eval_datasets = {}, {}
    for name, entry in config.target.items():
        if isinstance(entry, TargetDataset):
            if name in config.sources:
                raise ConfigError(f"target.{name}: the name is a source; give the dataset another name, or write "
                                  f"`{name}: {entry.weight}` to score the source's validation split")
            path = Path(entry.path)
            dataset = (TokenDataset.open(path) if (path / MANIFEST).is_file()
                       else _open(entry.path, "validation", f"target.{name}.path"))
            eval_datasets[name] = entry.path
        else:
            if name not in config.sources:
                raise ConfigError(f"target.{name}: not a source ({', '.join(config.sources)}); name a source, or give "
                                  f"{{path: TOKEN_DATASET, weight: {entry}}}")
            dataset = _open(config.sources[name].path, "validation", f"target.{name}")
        if dataset.num_windows(seq_len) == 0:
            raise ConfigError(f"target.{name}: the validation data at {dataset.path} has no shard of more than "
                              f"seq_len + 1 = {seq_len + 1} tokens; write a larger validation split")
        tokenizers[f"target.{name}"] = dataset.manifest.tokenizer
    return eval_datasets, tokenizers


def _read_sources(config: MixtureConfig) -> tuple[dict[str, int], dict[str, Any]]:
    """Training tokens per source, and each source's tokenizer by field."""
    available, tokenizers = {}, {}
    for name, source in config.sources.items():
        train = _open(source.path, "train", f"sources.{name}.path")
        _open(source.path, "validation", f"sources.{name}.path")  # the trainer scores every source's split
        tokenizers[f"sources.{name}"] = train.manifest.tokenizer
        available[name] = train.num_tokens
    return available, tokenizers


def resolve_proxy(config: MixtureConfig, preset: str, total_tokens: int, train: dict[str, Any], field: str) -> Proxy:
    """A proxy's run config from its preset and `train` values (`field`: `proxy`, or `transfer` for the
    larger runs of the rank-transfer check), validated once here."""
    if preset not in preset_names():
        raise ConfigError(f"{field}.preset: unknown preset '{preset}'; known presets: {', '.join(preset_names())}")
    for key in ("out_dir", "max_steps", "seed"):
        if key in train:
            raise ConfigError(f"{field}.train.{key}: set by the search for every run; remove it "
                              f"({field}.total_tokens sets max_steps)")
    preset_file = load_yaml(PRESETS / f"{preset}.yaml")
    merged = deep_merge(preset_file, {**train, "preset": preset})
    seq_len = load_train_config(None, deep_merge(merged, {"out_dir": ".", "data": {"mixture": "-"}})).model.seq_len
    # Laid under proxy.train, over the preset: the target is scored on proxy.target_tokens (its SE small),
    # once at the end (the search reads only the last evaluation; each one costs a pass over the target).
    scoring = {"eval": {"every_steps": 0,
                        "sequences": dict.fromkeys(config.target, max(1, config.proxy.target_tokens // seq_len))}}
    merged = deep_merge(deep_merge(preset_file, scoring), {**train, "preset": preset})
    probe = load_train_config(None, deep_merge(merged, {"out_dir": ".", "data": {"mixture": "-"}}))
    tokens_per_step = probe.data.batch_size * probe.data.grad_accum_steps * probe.model.seq_len
    max_steps = math.ceil(total_tokens / tokens_per_step)
    return Proxy(train={**merged, "max_steps": max_steps}, seq_len=probe.model.seq_len,
                 tokens_per_step=tokens_per_step, max_steps=max_steps)


def prior_weights(config: MixtureConfig, inputs: SearchInputs) -> dict[str, float]:
    if config.prior == "natural":
        return dict(inputs.natural)
    missing, unknown = set(config.sources) - set(config.prior), set(config.prior) - set(config.sources)
    if missing or unknown:
        raise ConfigError(f"prior: must give a weight to every source ({', '.join(config.sources)}); "
                          + (f"missing {', '.join(sorted(missing))}" if missing
                             else f"unknown {', '.join(sorted(unknown))}"))
    total = sum(config.prior.values())
    return {name: config.prior[name] / total for name in config.sources}


def check_feasible(weights: dict[str, float], inputs: SearchInputs, config: MixtureConfig, what: str) -> None:
    """Refuse, naming the first source at fault, weights that repeat a source beyond its max_epochs."""
    for budget_name, budget in (("final_run.total_tokens", config.final_run.total_tokens),
                                ("proxy.total_tokens", inputs.proxy.total_tokens)):
        for name, epochs in epochs_at(weights, inputs.available_tokens, budget).items():
            if epochs > inputs.max_epochs[name]:
                raise ConfigError(
                    f"{what}: source '{name}' at weight {weights[name]:.4g} would be read {epochs:.3g} times at "
                    f"{budget_name} {budget:,} ({inputs.available_tokens[name]:,} tokens), above its max_epochs "
                    f"{inputs.max_epochs[name]:g}; lower its weight (at most {inputs.limits[name]:.4g}) or raise "
                    f"sources.{name}.max_epochs")


def dataset_manifests(sources: dict[str, str], target: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The manifest of every source split (`sources`: name -> folder) and target dataset, with its sha256."""
    paths = {f"sources.{name}.{split}": split_path(folder, split) / MANIFEST
             for name, folder in sources.items() for split in ("train", "validation")}
    for name, entry in target.items():
        if isinstance(entry, TargetDataset):
            own = Path(entry.path) / MANIFEST
            paths[f"target.{name}"] = own if own.is_file() else split_path(entry.path, "validation") / MANIFEST
    return {field: {"path": str(path), "sha256": file_sha256(path)} for field, path in paths.items() if path.is_file()}


def check_same_mixture_datasets(folder: Path, mixture: str, target: dict[str, Any], resume: bool) -> None:
    """`check_same_datasets` for a search over one mixture file (scaling, variants, hparams)."""
    sources = {name: spec.path for name, spec in load_mixture(mixture).sources.items()}
    check_same_datasets(folder, dataset_manifests(sources, target), resume)


def check_same_datasets(folder: Path, manifests: dict[str, dict[str, str]], resume: bool) -> None:
    """Record the token datasets a search starts with in its folder (datasets.json); refuse a --resume
    when one of them changed since, as the finished runs were trained or scored on the old data and a
    table mixing both would compare runs on different data."""
    record = folder / DATASETS
    if resume and record.is_file():
        try:
            started = json.loads(record.read_text(encoding="utf-8"))
        except ValueError:
            raise ConfigError(f"--resume: {record} is unreadable (empty or torn); it records the token data the "
                              "search started with: restore it, or start a new search folder") from None
        for field in sorted(started.keys() | manifests.keys()):
            was, now = started.get(field, {}), manifests.get(field, {})
            if was.get("sha256") != now.get("sha256"):
                raise ConfigError(f"--resume: {field} ({now.get('path') or was.get('path')}) is not the token data "
                                  f"{folder} was started with (its manifest differs from the one recorded in "
                                  f"{record}); restore that data, or start a new search folder (another out_dir)")
    folder.mkdir(parents=True, exist_ok=True)
    write_text(record, json.dumps(manifests, indent=1, sort_keys=True) + "\n", durable=True)


def _open(path: str, split: str, field: str) -> TokenDataset:
    if not Path(path).is_dir():
        raise ConfigError(f"{field}: {path} does not exist; point it at a folder written by `dataflow run tokenize`")
    if not (split_path(path, split) / MANIFEST).is_file():
        raise ConfigError(f"{field}: {path} has no {split} split ({split}/{MANIFEST} is missing), so it is not a "
                          "token source; write it with `dataflow run tokenize`")
    try:
        return open_split(path, split)
    except InputError as err:
        raise InputError(f"{field}: {err}") from None


def _same_tokenizer(found: dict[str, Any]) -> None:
    (first_field, first), *rest = found.items()
    for field, tokenizer in rest:
        if tokenizer.sha256 != first.sha256:
            raise ConfigError(f"{field} was tokenised with {tokenizer.path} (sha256 {tokenizer.sha256[:12]}), "
                              f"{first_field} with {first.path} (sha256 {first.sha256[:12]}); token ids of "
                              "different tokenizers cannot be mixed: re-tokenise with one tokenizer")
