"""The screens that run after the rules on the documents they keep: toxicity, then personal data.

Both are batch steps over a filter batch's verdicts (dataflow/filters/apply.py): the toxicity
models score the batch's kept texts in one call, and personal data is masked last, so the text a
kept row carries is the one every rule and scorer judged, with placeholders in it. Rejected
rows keep their original text (the stage contract), so `rejected/` may hold personal data.

Values land in `filter_values` beside the rules' (`toxicity.<scorer>`, `pii.<kind>`), so a
stricter cut later is a `where`; a document over a toxicity threshold is rejected as `toxic` with
the scorer's value, and with `pii.action: drop` a document with findings as `pii` with their number.
"""

from __future__ import annotations

from typing import Protocol

from dataflow.filters.pii import PiiConfig, find_and_mask
from dataflow.filters.rule import Rejection
from dataflow.filters.toxicity import TOXIC, ToxicityConfig, score_documents, toxic_value

PII = "pii"
PII_PREFIX = "pii."


class _Verdict(Protocol):
    text: str
    values: dict[str, float]
    rejections: list[Rejection]


def screen(verdicts: list[_Verdict], languages: list[str | None], toxicity: ToxicityConfig, pii: PiiConfig) -> None:
    """Score and mask the kept documents among `verdicts` in place."""
    kept = [i for i, verdict in enumerate(verdicts) if not verdict.rejections]
    if toxicity.enabled and kept:
        for i, scores in zip(kept, score_documents([verdicts[i].text for i in kept], [languages[i] for i in kept],
                                                   toxicity)):
            verdicts[i].values.update(scores)
            value = toxic_value(scores, toxicity)
            if value is not None:
                verdicts[i].rejections.append(Rejection(TOXIC, value))
    if not pii.enabled:
        return
    for i in kept:
        verdict = verdicts[i]
        if verdict.rejections:
            continue
        masked, counts = find_and_mask(verdict.text, pii)
        verdict.values.update({PII_PREFIX + kind: float(count) for kind, count in counts.items()})
        if counts and pii.action == "drop":
            verdict.rejections.append(Rejection(PII, float(sum(counts.values()))))
        else:
            verdict.text = masked


def toxicity_score(values: dict[str, float], config: ToxicityConfig) -> float | None:
    """The `toxicity_score` column: the highest score of any scorer divided by its threshold (over 1 is toxic),
    so one column ranks documents whatever scorers ran; None when none ran."""
    ratios = [values[key] / max(limit, 1e-9) for key, limit in config.thresholds().items() if key in values]
    return max(ratios) if ratios else None
