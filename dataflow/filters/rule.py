"""What a filter rule is (STYLE.md, "A filter rule").

A rule is a frozen pydantic model: its fields are its thresholds, `name` is the stable reason
written to `rejected/` and `stats.json`, and `check` is a pure function of the document's
shared statistics (`TextStats`) returning a `Rejection(rule, value)` with the measured value,
or None. Two kinds:

- `Rule` measures one number per document (`measure`) and says whether it is out of bounds
  (`rejects`). The number is kept on every evaluated row, so a stricter threshold later is a
  `where` on the output, not a rerun. Almost every rule bounds its value in one of three ways,
  written once here: `MaxValue` (reject above a `max_*` field), `MinValue` (below a `min_*`
  field) and `ValueRange` (outside a `min_*`/`max_*` pair); a rule names its threshold fields
  and implements only `measure`. `LineShare` measures the share of lines passing a per-line
  test (`counts`), the shape of the Gopher and FineWeb line rules.
- `LineRule` decides per line (C4): `apply` returns the line, possibly edited, or None to drop
  it. Line rules never reject a document; they change the text that later rules see. A line
  rule may also `split` a line into pieces judged separately (C4's Chinese and Japanese
  sentences).

`language_defaults` holds a rule's documented per-language threshold overrides (e.g. Chinese
and Japanese word-count limits in character units); the filter config merges user overrides
over them.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any, ClassVar, NamedTuple

from pydantic import Field

from dataflow.config import StrictModel
from dataflow.filters.stats import TextStats


class Rejection(NamedTuple):
    """Why a document was dropped: the rule's name and the value it measured."""

    rule: str
    value: float


class Rule(StrictModel):
    """A document-level rule: one measured value, rejected outside the thresholds."""

    name: ClassVar[str]
    language_defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    @abstractmethod
    def measure(self, doc: TextStats) -> float | None:
        """The measured value; None when the rule does not apply to this document."""

    @abstractmethod
    def rejects(self, value: float) -> bool:
        """Whether `value` is out of bounds."""

    def check(self, doc: TextStats) -> Rejection | None:
        value = self.measure(doc)
        return Rejection(self.name, value) if value is not None and self.rejects(value) else None


class MaxValue(Rule):
    """Rejects a value above the threshold field named by `threshold` (a share, ratio, count, length)."""

    threshold: ClassVar[str] = "max_frac"

    def rejects(self, value: float) -> bool:
        return value > getattr(self, self.threshold)


class MinValue(Rule):
    """Rejects a value below the threshold field named by `threshold`."""

    threshold: ClassVar[str] = "min_frac"

    def rejects(self, value: float) -> bool:
        return value < getattr(self, self.threshold)


class ValueRange(Rule):
    """Rejects a value outside the bounds held by the two fields named by `thresholds` (low, high)."""

    thresholds: ClassVar[tuple[str, str]]

    def rejects(self, value: float) -> bool:
        low, high = (getattr(self, field) for field in self.thresholds)
        return not low <= value <= high


class LineShare(Rule):
    """Measures the share of non-empty lines for which `counts(line)` holds; combine it with a bound
    (`class GopherBulletLines(LineShare, MaxValue)`)."""

    @abstractmethod
    def counts(self, line: str) -> bool:
        """Whether `line` (non-empty) is one of the lines the rule counts."""

    def measure(self, doc: TextStats) -> float | None:
        return sum(map(self.counts, doc.lines)) / len(doc.lines) if doc.lines else None


#: Threshold types: a share of lines, characters or words; a ratio or mean; a count or length.
Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class LineRule(StrictModel):
    """A line-level rule (C4): keeps, edits or drops each line of a document."""

    name: ClassVar[str]
    language_defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    @abstractmethod
    def apply(self, line: str) -> str | None:
        """The line to keep (edited or not), or None to drop it. `line` is stripped and non-empty."""

    def split(self, line: str) -> list[str]:
        """The pieces of `line` that the line rules judge one by one as lines, cut before any rule
        applies: the whole line, unless a rule says otherwise."""
        return [line]
