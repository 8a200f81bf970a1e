"""The `filter:` section of the pipeline config, and the rules it resolves to per language.

    filter:
      rules: [degenerate_char_run, gopher_word_count, c4_terminal_punct, ...]   # order = report order
      thresholds:
        gopher_word_count: {min_words: 80}
        banned_words: {path: lists/naughty_words_en.txt}
      languages:
        zh: {gopher_word_count: {min_words: 150}}

A rule's thresholds are its defaults, then `thresholds`, then `languages[<document
language>]`. The built-in per-language values (Chinese and Japanese word counts in character
units, ...) are the rules' `language_defaults`; `languages` entries merge over them key by key
(`zh: null` removes a language's built-in values), and `dataflow config show` prints the result. Unknown rule names and
fields are config errors that list the known ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from dataflow.config import StrictModel
from dataflow.filters import DEFAULT_RULES, RULES, LineRule, Rule
from dataflow.filters.pii import PiiConfig
from dataflow.filters.toxicity import ToxicityConfig


def builtin_language_overrides() -> dict[str, dict[str, dict[str, Any]]]:
    """language -> rule -> field values, from every rule's `language_defaults`."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for name, rule in RULES.items():
        for language, values in rule.language_defaults.items():
            merged.setdefault(language, {})[name] = dict(values)
    return merged


class FilterConfig(StrictModel):
    """Settings of the `filter` stage: which rules run, in which order, with which thresholds."""

    rules: list[str] = list(DEFAULT_RULES)
    """Rule names in the order they run; a document failing several is reported under the first.
    Line rules (c4_*_line, c4_terminal_punct, ...) edit the text that later rules see."""
    thresholds: dict[str, dict[str, Any]] = {}
    """Field values per rule name replacing its defaults, e.g. {gopher_word_count: {min_words: 80}}."""
    languages: dict[str, dict[str, dict[str, Any]] | None] = builtin_language_overrides()
    """Per document language, field values per rule applied over `thresholds`; merged over the built-in
    zh/ja values (`zh: null` drops a language's built-in values)."""
    toxicity: ToxicityConfig = ToxicityConfig()
    """Toxicity scorers run on the documents the rules keep (filters/toxicity.py); none by default."""
    pii: PiiConfig = PiiConfig()
    """Personal data masked (or dropped) in the documents kept (filters/pii.py); on by default."""

    @model_validator(mode="before")
    @classmethod
    def _merge_builtin_languages(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("languages"), dict):
            return data
        merged = builtin_language_overrides()
        for language, rules in data["languages"].items():
            if rules is None:  # `zh: null` drops the built-in values of a language (kept as null)
                merged[language] = None
                continue
            for name, values in rules.items():
                merged.setdefault(language, {}).setdefault(name, {}).update(values or {})
        return {**data, "languages": merged}

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, names: list[str]) -> list[str]:
        for position, name in enumerate(names):
            _check_rule_name(name, f"rules[{position}]")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"rules listed twice: {', '.join(repeated)}")
        return names

    @model_validator(mode="after")
    def _thresholds_fit_rules(self) -> FilterConfig:
        for name in self.thresholds:
            _check_rule_name(name, "thresholds")
        for language, overrides in self.languages.items():
            for name in overrides or {}:
                _check_rule_name(name, f"languages.{language}")
        for name in self.rules:
            make_rule(self, name, None)
            for language in self.languages:
                make_rule(self, name, language)
        return self


def make_rule(config: FilterConfig, name: str, language: str | None) -> Rule | LineRule:
    """Rule `name` with its thresholds for documents in `language`."""
    values = {**config.thresholds.get(name, {}), **(config.languages.get(language or "") or {}).get(name, {})}
    try:
        return RULES[name](**values)
    except ValidationError as err:
        where = f"languages.{language}.{name}" if config.languages.get(language or "") else f"thresholds.{name}"
        fields = ", ".join(RULES[name].model_fields) or "(none)"
        problems = "; ".join(f"{'.'.join(map(str, item['loc'])) or '(rule)'}: {item['msg']}" for item in err.errors())
        raise ValueError(f"{where}: {problems} (fields of {name}: {fields})") from None


#: Rules in run order, each run of consecutive line rules grouped into a tuple (one pass over lines).
Steps = tuple[Rule | tuple[LineRule, ...], ...]


class RuleSet:
    """The configured rules, instantiated once per document language met (per Python worker)."""

    def __init__(self, config: FilterConfig):
        self.config = config
        self._by_language: dict[str, Steps] = {}

    def steps(self, language: str | None) -> Steps:
        key = language if self.config.languages.get(language or "") else ""
        if key not in self._by_language:
            self._by_language[key] = _group_line_rules([make_rule(self.config, name, key)
                                                        for name in self.config.rules])
        return self._by_language[key]


def _group_line_rules(rules: list[Rule | LineRule]) -> Steps:
    steps: list = []
    for rule in rules:
        if isinstance(rule, LineRule) and steps and type(steps[-1]) is tuple:
            steps[-1] += (rule,)
        else:
            steps.append((rule,) if isinstance(rule, LineRule) else rule)
    return tuple(steps)


def _check_rule_name(name: str, where: str) -> None:
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r} in {where}; known rules: {', '.join(RULES)}")
