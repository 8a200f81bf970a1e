"""Heuristic filter rules, each written once and registered here by a stable name.

Families: `degenerate` (the slash-page guard), `repetition` (Gopher repetition), `gopher`
(Gopher quality), `c4` (C4 line and document rules), `fineweb` (FineWeb's additions), `lists`
(optional user-supplied URL block list and banned words). The Spark job, `dataflow inspect
explain` and the tests all run the same rule objects (dataflow/filters/apply.py). A name ends
up in rejected/, stats.json and search results: a rule whose meaning changes gets a new name.
"""

from __future__ import annotations

from dataflow.filters import c4, degenerate, fineweb, gopher, lists, repetition
from dataflow.filters.rule import LineRule, Rejection, Rule

#: Every rule by name, in the default order: the degenerate guard first, then Gopher quality
#: (so a two-word page reads `gopher_word_count`, and short pages never pay for n-grams),
#: Gopher repetition, C4, FineWeb. FineWeb's pipeline runs repetition before quality; the
#: order changes which reason a page gets, not whether it is kept.
RULES: dict[str, type[Rule | LineRule]] = {
    rule.name: rule
    for family in (degenerate, gopher, repetition, c4, fineweb)
    for rule in family.RULES
} | {lists.UrlBlocklist.name: lists.UrlBlocklist, lists.BannedWords.name: lists.BannedWords}

#: Rules that need a user-supplied list, so they run only when named in the config.
OPTIONAL_RULES = (lists.UrlBlocklist.name, lists.BannedWords.name)
DEFAULT_RULES = tuple(name for name in RULES if name not in OPTIONAL_RULES)

__all__ = ["DEFAULT_RULES", "OPTIONAL_RULES", "RULES", "LineRule", "Rejection", "Rule"]
