"""Running a rule list over documents: one document (`evaluate`), or Arrow batches (`filter_batches`,
the body the filter job hands to Spark's mapInArrow, engine-free so tests call it directly).

Rules run in config order over shared `TextStats`. A run of consecutive line rules is one
pass over the lines; the edited text replaces the document for the rules after it. The first
rejection stops a document (its reason is the first failing rule in config order), which also
spares pathological pages the costlier statistics. Every value measured on the way is kept in
the `filter_values` map column, for kept rows as for rejected ones: a stricter threshold later
is `where(filter_values['gopher_word_count'] >= 80)`, not a rerun. Line rules record the lines
they dropped under their name and the characters they removed under `<name>.chars`.

Kept rows carry the edited text; rejected rows keep the text they arrived with, which is what
a person inspecting `rejected/` needs to see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from dataflow.filters.config import FilterConfig, RuleSet, Steps
from dataflow.filters.rule import LineRule, Rejection
from dataflow.filters.screens import screen, toxicity_score
from dataflow.filters.stats import TextStats
from dataflow.schema import REJECT_FIELDS, REJECT_REASON, REJECT_VALUE

FILTER_VALUES = "filter_values"
FILTER_VALUES_FIELD = pa.field(FILTER_VALUES, pa.map_(pa.string(), pa.float64()))
TOXICITY_SCORE_FIELD = pa.field("toxicity_score", pa.float64())
CHARS_SUFFIX = ".chars"


@dataclass
class Verdict:
    """The outcome for one document: its text after line rules, every value measured, rejections."""

    text: str
    values: dict[str, float] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def evaluate(text: str, steps: Steps, language: str | None = None, url: str | None = None,
             stop_at_rejection: bool = True) -> Verdict:
    """Run `steps` (RuleSet.steps) in order over one document; every rule if not `stop_at_rejection`."""
    doc = TextStats(text, language, url)
    verdict = Verdict(text)
    for step in steps:
        if type(step) is tuple:
            edited = _apply_line_rules(doc.text, step, verdict.values)
            if edited != doc.text:
                doc = TextStats(edited, language, url)
            continue
        value = step.measure(doc)
        if value is None:
            continue
        verdict.values[step.name] = float(value)
        if step.rejects(value):
            verdict.rejections.append(Rejection(step.name, float(value)))
            if stop_at_rejection:
                return verdict
    verdict.text = doc.text
    return verdict


def _apply_line_rules(text: str, rules: tuple[LineRule, ...], values: dict[str, float]) -> str:
    """One pass over the lines: each stripped non-empty line goes through `rules` in order. A line a
    rule splits (`LineRule.split`) goes through them piece by piece, each piece counted as a line and
    kept as a line of its own (C4's Chinese and Japanese sentences)."""
    lines = dict.fromkeys((rule.name for rule in rules), 0)
    chars = dict.fromkeys(lines, 0)
    splitters = [rule for rule in rules if type(rule).split is not LineRule.split]
    kept = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        pieces = [line]
        for splitter in splitters:
            pieces = [part for piece in pieces for part in splitter.split(piece)]
        kept_pieces = []
        for piece in pieces:
            for rule in rules:
                edited = rule.apply(piece)
                if not edited:
                    lines[rule.name] += 1
                    chars[rule.name] += len(piece)
                    break
                chars[rule.name] += len(piece) - len(edited)
                piece = edited
            else:
                kept_pieces.append(piece)
        if kept_pieces:
            kept.append("\n".join(kept_pieces))
    for name in lines:
        values[name] = float(lines[name])
        values[name + CHARS_SUFFIX] = float(chars[name])
    return "\n".join(kept)


def format_value(value: float) -> str:
    """A measured value as `reject_value` text: integers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


# --- Arrow batches (mapInArrow) ------------------------------------------------------------


def filter_output_schema(schema: pa.Schema) -> pa.Schema:
    """The input document schema plus `filter_values`, `toxicity_score` and the reject columns."""
    return pa.schema([*schema, FILTER_VALUES_FIELD, TOXICITY_SCORE_FIELD, *REJECT_FIELDS])


def filter_batches(batches: Iterable[pa.RecordBatch], config: FilterConfig) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: document batches in, the same rows out with values and reasons added."""
    rules = RuleSet(config)
    for batch in batches:
        yield filter_batch(batch, rules)


def filter_batch(batch: pa.RecordBatch, rules: RuleSet) -> pa.RecordBatch:
    texts = batch.column("text").to_pylist()
    languages = _optional_column(batch, "language")
    urls = _optional_column(batch, "url")
    verdicts = [evaluate(text or "", rules.steps(language), language, url)
                for text, language, url in zip(texts, languages, urls)]
    screen(verdicts, languages, rules.config.toxicity, rules.config.pii)
    columns = {name: batch.column(name) for name in batch.schema.names}
    columns["text"] = pa.array([verdict.text if not verdict.rejections else text
                                for verdict, text in zip(verdicts, texts)], pa.string())
    columns[FILTER_VALUES] = pa.array([list(verdict.values.items()) for verdict in verdicts], FILTER_VALUES_FIELD.type)
    columns[TOXICITY_SCORE_FIELD.name] = pa.array([toxicity_score(verdict.values, rules.config.toxicity)
                                                   for verdict in verdicts], pa.float64())
    first = [verdict.rejections[0] if verdict.rejections else None for verdict in verdicts]
    columns[REJECT_REASON] = pa.array([r.rule if r else None for r in first], pa.string())
    columns[REJECT_VALUE] = pa.array([format_value(r.value) if r else None for r in first], pa.string())
    return pa.RecordBatch.from_arrays(list(columns.values()), schema=filter_output_schema(batch.schema))


def _optional_column(batch: pa.RecordBatch, name: str) -> list:
    index = batch.schema.get_field_index(name)
    return batch.column(index).to_pylist() if index >= 0 else [None] * batch.num_rows
