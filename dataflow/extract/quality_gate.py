"""The extract cascade's quality gate: the filter's own rules on Resiliparse's text, before trafilatura.

A page in a kept language that the quality rules will reject anyway costs a full trafilatura
extraction (94% of an extract task) only for the filter to throw the text away. When the extract
stage knows the filter's config (`run pipeline`, whose filter stage applies it next, or `run
extract --quality-prefilter` with that config), the rules below are measured on Resiliparse's main
text (about 50x cheaper than trafilatura, dataflow/extract/resiliparse_text.py), with the page's
cheap language guess choosing the per-language thresholds; a page failing one by its margin is
rejected as `quality_prefilter:<rule>` with the measured value, and never reaches trafilatura.

Resiliparse's text is not trafilatura's (it keeps more navigation, it words lists differently), so
a rule joins the gate only with a margin: the rule's own thresholds loosened by a factor (a maximum
multiplied by it, a minimum divided by it, both ends of a range), so that the pages the gate drops
are pages the full path rejects too. The factors are measured, not guessed: `python -m bench.cascade
--tune` evaluates every candidate rule on the real pages of ../shared/data/html, sets each factor
just above the worst failure among the pages the full path keeps (even page indices), and reports
per rule how many pages the gate drops that the full path keeps, on those pages and on the odd
ones it was not tuned on (target: under 0.5% of the kept set). A rule absent from `MARGINS` is
not robust to the extractor (the measured factor was unbounded, or it dropped no page) and stays
with the filter. Only rules that run before the filter's first line rule are used: later ones
see C4's edited text, which the gate cannot reproduce.
"""

from __future__ import annotations

from dataflow.filters import RULES, LineRule
from dataflow.filters.apply import format_value
from dataflow.filters.config import FilterConfig, make_rule
from dataflow.filters.rule import MaxValue, MinValue, Rule, ValueRange
from dataflow.filters.stats import TextStats

#: Rule name -> factor by which Resiliparse's text must fail the rule's threshold for the gate to
#: reject the page: measured by `python -m bench.cascade --tune` on the 1,695 real pages
#: (docs/benchmarks/2026-12-07-extract-speed.md). Only the bullet-line share passed: every other
#: candidate had documents the full path keeps failing it on Resiliparse's text nearly as far as
#: the pages it rejects (word count 7.1x, alpha words 1.7x, duplicate 10-grams 3.7x, ...).
MARGINS: dict[str, float] = {"gopher_bullet_lines": 1.1}

PREFIX = "quality_prefilter:"


def loosened(rule: Rule, factor: float) -> Rule:
    """`rule` with its thresholds moved outward by `factor` (>= 1): maxima times it, minima divided."""
    if isinstance(rule, ValueRange):
        low, high = rule.thresholds
        return rule.model_copy(update={low: getattr(rule, low) / factor, high: getattr(rule, high) * factor})
    if isinstance(rule, MaxValue):
        return rule.model_copy(update={rule.threshold: getattr(rule, rule.threshold) * factor})
    if isinstance(rule, MinValue):
        return rule.model_copy(update={rule.threshold: getattr(rule, rule.threshold) / factor})
    raise TypeError(f"{rule.name}: the gate loosens MaxValue, MinValue and ValueRange rules only")


def gate_rule_names(config: FilterConfig, margins: dict[str, float]) -> list[str]:
    """The configured rules with a margin that run before the first line rule, in config order."""
    names = []
    for name in config.rules:
        if issubclass(RULES[name], LineRule):
            break
        if name in margins:
            names.append(name)
    return names


class QualityGate:
    """The gate's rules per language, built on first use (one instance per extract task)."""

    def __init__(self, config: FilterConfig, margins: dict[str, float] | None = None):
        self.config = config
        self.margins = MARGINS if margins is None else margins
        self.names = gate_rule_names(config, self.margins)
        self._by_language: dict[str, list[Rule]] = {}

    def rules(self, language: str | None) -> list[Rule]:
        key = language if self.config.languages.get(language or "") else ""
        if key not in self._by_language:
            self._by_language[key] = [loosened(make_rule(self.config, name, key), self.margins[name])
                                      for name in self.names]
        return self._by_language[key]

    def check(self, text: str, language: str | None) -> tuple[str, str] | None:
        """(`quality_prefilter:<rule>`, measured value) for the first gate rule `text` fails by its
        margin; None when it passes them all and trafilatura must decide."""
        doc = TextStats(text, language)
        for rule in self.rules(language):
            rejection = rule.check(doc)
            if rejection is not None:
                return PREFIX + rejection.rule, format_value(rejection.value)
        return None
