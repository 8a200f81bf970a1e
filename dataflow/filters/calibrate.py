"""Per-language filter thresholds from a reference corpus you trust: `dataflow filters calibrate`.

FineWeb-2 (Penedo et al. 2025, "FineWeb2: One Pipeline to Scale Them All", section 4) sets each
language's thresholds from the distribution of each filter metric on reference text of that
language (Wikipedia, GlotLID's corpus) instead of reusing the English values, which throw away
most clean text of scripts they were never tuned on. This is that idea as a tool: every
configured rule runs over the reference documents exactly as the filter stage runs it (same
objects, same per-language built-in values, no stopping at the first rejection), and each
threshold is placed at a stated percentile of its measured values: a `min_*` bound at the
`percentile`-th, a `max_*` bound at the (100 - `percentile`)-th, so a bound rejects at most
that share of the reference. By default a bound is only loosened: clean reference text shows
where a threshold throws away good text, not how bad text looks (a homogeneous reference would
otherwise pull every bound tight around itself); `tighten` moves bounds both ways. The result
is a `filter: languages:` file the filter stage reads with `--config`.

Reference input, per language (`zh=PATH`): text files (`.txt`, `.txt.gz`: lines grouped into
documents of about `doc_chars` characters at line ends, which suits sentence lists such as the
lingua test sentences and books), JSONL (`.jsonl`, `.jsonl.gz`: a `text` field per line) or
Parquet files and folders (a `text` column, read batch by batch). Values are kept per rule
(8 bytes each), up to `max_docs` documents per language.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from dataflow.errors import InputError
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.rule import Rule

#: Fields named max_/min_ that set how a value is measured, not where it is cut.
MEASUREMENT_FIELDS = frozenset({"max_line_chars"})


@dataclass
class Proposal:
    """One threshold of one rule for one language: the value now, the proposed one, what each rejects."""

    rule: str
    field: str
    current: float
    proposed: float
    rejected_now: float
    rejected_proposed: float


@dataclass
class Calibration:
    """The measured values per language and rule, and the proposals derived from them."""

    percentile: float
    documents: dict[str, int] = field(default_factory=dict)
    proposals: dict[str, list[Proposal]] = field(default_factory=dict)


def reference_documents(path: str, doc_chars: int = 2000) -> Iterator[str]:
    """The documents of one reference input (see the module docstring for the formats)."""
    source = Path(path)
    if source.is_dir() or source.suffix == ".parquet":
        import pyarrow.dataset as ds

        for batch in ds.dataset(str(source), format="parquet").to_batches(columns=["text"]):
            yield from (text for text in batch.column("text").to_pylist() if text)
        return
    if not source.is_file():
        raise InputError(f"reference {path} does not exist (give a text, JSONL or Parquet file, or a Parquet folder)")
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as handle:
        if ".jsonl" in source.suffixes:
            yield from (json.loads(line).get("text") or "" for line in handle if line.strip())
            return
        current: list[str] = []
        size = 0
        for line in handle:
            current.append(line.rstrip("\n"))
            size += len(line)
            if size >= doc_chars:
                yield "\n".join(current)
                current, size = [], 0
        if current:
            yield "\n".join(current)


def calibrate(references: dict[str, list[str]], config: FilterConfig, percentile: float = 1.0,
              doc_chars: int = 2000, max_docs: int = 100_000, tighten: bool = False) -> Calibration:
    """Run the configured rules over each language's reference documents and propose thresholds."""
    if not 0 <= percentile < 50:
        raise InputError(f"percentile {percentile} must be in [0, 50): the share of the reference a bound may reject")
    rules = RuleSet(config)
    result = Calibration(percentile)
    for language, paths in references.items():
        steps = rules.steps(language)
        values: dict[str, list[float]] = {}
        count = 0
        for path in paths:
            for text in reference_documents(path, doc_chars):
                if count >= max_docs:
                    break
                count += 1
                for name, value in evaluate(text, steps, language, stop_at_rejection=False).values.items():
                    values.setdefault(name, []).append(value)
        if not count:
            raise InputError(f"no reference documents for {language} in {', '.join(paths)}")
        result.documents[language] = count
        document_rules = [step for step in steps if isinstance(step, Rule)]
        result.proposals[language] = [proposal for rule in document_rules if rule.name in values
                                      for proposal in _propose(rule, np.asarray(values[rule.name]), percentile,
                                                               tighten)]
    return result


def _propose(rule: Rule, measured: np.ndarray, percentile: float, tighten: bool) -> Iterator[Proposal]:
    for name, current in rule.model_dump().items():
        if not name.startswith(("min_", "max_")) or name in MEASUREMENT_FIELDS or isinstance(current, bool):
            continue
        if not isinstance(current, (int, float)):
            continue
        lower = name.startswith("min_")
        value = float(np.percentile(measured, percentile if lower else 100 - percentile))
        if isinstance(current, int):
            value = float(np.floor(value) if lower else np.ceil(value))
        if not tighten:
            value = min(value, current) if lower else max(value, current)
        proposed = rule.model_copy(update={name: type(current)(value)})
        yield Proposal(rule.name, name, float(current), value,
                       _rejected_share(rule, measured), _rejected_share(proposed, measured))


def _rejected_share(rule: Rule, measured: np.ndarray) -> float:
    return float(np.mean([rule.rejects(value) for value in measured.tolist()])) if len(measured) else 0.0


def overrides_yaml(calibration: Calibration) -> str:
    """The changed thresholds as a pipeline config fragment (`filter: languages: ...`), with a comment per language."""
    languages: dict[str, dict[str, dict[str, float]]] = {}
    for language, proposals in calibration.proposals.items():
        for proposal in proposals:
            if proposal.proposed == proposal.current:
                continue
            value = int(proposal.proposed) if proposal.proposed.is_integer() else round(proposal.proposed, 4)
            languages.setdefault(language, {}).setdefault(proposal.rule, {})[proposal.field] = value
    header = (f"# dataflow filters calibrate: thresholds at percentile {calibration.percentile:g} of the reference "
              "(min_* bounds) and {:g} (max_* bounds)\n".format(100 - calibration.percentile) +
              "".join(f"# {language}: {count} reference documents\n" for language,
                      count in calibration.documents.items()))
    return header + yaml.safe_dump({"filter": {"languages": languages}}, sort_keys=False, allow_unicode=True)


def format_table(calibration: Calibration) -> str:
    """One line per changed threshold: current and proposed value, and the share of the reference each rejects."""
    lines = []
    for language, proposals in calibration.proposals.items():
        changed = [p for p in proposals if p.proposed != p.current]
        lines.append(f"{language}: {calibration.documents[language]} reference documents, {len(changed)} of "
                     f"{len(proposals)} thresholds changed")
        for p in changed:
            lines.append(f"  {p.rule + '.' + p.field:<42} {p.current:>10g} -> {p.proposed:<10g} "
                         f"rejects {p.rejected_now:6.1%} of the reference now, {p.rejected_proposed:6.1%} proposed")
    return "\n".join(lines)
