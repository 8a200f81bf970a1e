"""What a filter rule is (STYLE.md, "A filter rule").

A rule is a frozen pydantic model: its fields are its thresholds, `name` is the stable reason
written to `rejected/` and `stats.json`, and `check` is a pure function of the document's
shared statistics (`TextStats`) returning a `Rejection(rule, value)` with the measured value,
or None. Two kinds:

- `Rule` measures one number per document (`measure`) and says whether it is out of bounds
  (`rejects`). The number is kept on every evaluated row, so a stricter threshold later is a
  `where` on the output, not a rerun.
- `LineRule` decides per line (C4): `apply` returns the line, possibly edited, or None to drop
  it. Line rules never reject a document; they change the text that later rules see.

`language_defaults` holds a rule's documented per-language threshold overrides (e.g. Chinese
and Japanese word-count limits in character units); the filter config merges user overrides
over them.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, NamedTuple

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


class LineRule(StrictModel):
    """A line-level rule (C4): keeps, edits or drops each line of a document."""

    name: ClassVar[str]
    language_defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    @abstractmethod
    def apply(self, line: str) -> str | None:
        """The line to keep (edited or not), or None to drop it. `line` is stripped and non-empty."""
