"""Every rule's measured value for one document: `dataflow inspect explain DOC_ID_OR_TEXT_FILE`.

Runs the configured rules exactly as the filter stage does (same objects, same order, line
rules editing the text for the rules after them) but without stopping at the first rejection,
and lays the result out as a table: rule, measured value, thresholds, verdict. When the rules
keep the document, the screens follow as in the stage: each toxicity scorer's score and
threshold, and the personal data found per kind.
"""

from __future__ import annotations

from dataflow.filters.apply import CHARS_SUFFIX, evaluate, format_value
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.rule import LineRule
from dataflow.filters.screens import PII_PREFIX, screen


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
    if not verdict.rejections:  # the screens run on what the rules keep, as in the stage
        screen([verdict], [language], config.toxicity, config.pii)
        lines += _screen_lines(verdict.values, config, width)
    first = verdict.rejections[0] if verdict.rejections else None
    lines.append(f"verdict: rejected by {first.rule} = {format_value(first.value)}" if first else "verdict: kept")
    return "\n".join(lines)


def _screen_lines(values: dict[str, float], config: FilterConfig, width: int) -> list[str]:
    """One line per toxicity scorer that ran (score, threshold, verdict) and one for personal data."""
    lines = []
    for key, limit in config.toxicity.thresholds().items():
        if key in values:
            status = "REJECT" if values[key] > limit else "pass"
            lines.append(f"  {key:<{width}}  {format_value(values[key]):<34}  {status:<9}  max={limit}")
    if config.pii.enabled:
        found = {key.removeprefix(PII_PREFIX): int(value) for key, value in values.items()
                 if key.startswith(PII_PREFIX)}
        shown = ", ".join(f"{kind}={count}" for kind, count in found.items()) or "none"
        status = "REJECT" if found and config.pii.action == "drop" else config.pii.action if found else "pass"
        lines.append(f"  {'pii':<{width}}  {shown:<34}  {status:<9}  action={config.pii.action}")
    return lines
