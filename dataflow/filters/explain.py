"""Every rule's measured value for one document: `dataflow inspect explain DOC_ID_OR_TEXT_FILE`.

Runs the configured rules exactly as the filter stage does (same objects, same order, line
rules editing the text for the rules after them) but without stopping at the first rejection,
and lays the result out as a table: rule, measured value, thresholds, verdict.
"""

from __future__ import annotations

from dataflow.filters.apply import CHARS_SUFFIX, evaluate, format_value
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.rule import LineRule


def explain(text: str, config: FilterConfig, language: str | None = None, url: str | None = None) -> str:
    """The table for one document, and the stage's verdict (the first failing rule)."""
    steps = RuleSet(config).steps(language)
    verdict = evaluate(text, steps, language, url, stop_at_rejection=False)
    failed = {rejection.rule for rejection in verdict.rejections}
    rules = [rule for step in steps for rule in (step if type(step) is tuple else (step,))]
    width = max(len(rule.name) for rule in rules)
    lines = [f"language={language or '-'}  characters={len(text):,}  rules={len(rules)}"]
    for rule in rules:
        thresholds = ", ".join(f"{key}={value}" for key, value in rule.model_dump().items())
        if isinstance(rule, LineRule):
            removed = (f"removed {format_value(verdict.values.get(rule.name, 0))} lines, "
                       f"{format_value(verdict.values.get(rule.name + CHARS_SUFFIX, 0))} chars")
            lines.append(f"  {rule.name:<{width}}  {removed:<34}  line rule  {thresholds}")
            continue
        value = verdict.values.get(rule.name)
        shown = "n/a" if value is None else format_value(value)
        status = "REJECT" if rule.name in failed else ("pass" if value is not None else "skipped")
        lines.append(f"  {rule.name:<{width}}  {shown:<34}  {status:<9}  {thresholds}")
    first = verdict.rejections[0] if verdict.rejections else None
    lines.append(f"verdict: rejected by {first.rule} = {format_value(first.value)}" if first else "verdict: kept")
    return "\n".join(lines)
