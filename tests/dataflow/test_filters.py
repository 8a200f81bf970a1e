"""Filter rules, table-style: one row per rule reason with a small text that trips it, a clean
page that passes every rule, the slash page and its cousins, config errors, line-rule edits."""

from __future__ import annotations

import random

import pytest

from dataflow.config import validate_config
from dataflow.errors import ConfigError
from dataflow.filters import RULES, c4, degenerate, fineweb, gopher, repetition
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet

SENTENCES = [
    "The committee met on Tuesday to review the budget that the council had proposed for the coming year.",
    "Several members argued that the funding for public libraries should be increased rather than reduced.",
    "A local teacher described how students depend on quiet reading rooms during the long winter evenings.",
    "After a lengthy debate, the chair asked the finance office to prepare two alternative spending plans.",
    "Residents who attended the session were invited to submit written comments before the end of the month.",
    "The mayor said she would support any proposal that kept property taxes stable for retired homeowners.",
    "Engineers from the water authority presented a report on pipes that have to be replaced within a decade.",
    "Their estimate of the total cost surprised several councillors, who asked for an independent review.",
    "Local business owners, meanwhile, urged the council to invest in parking near the historic market square.",
    "A final vote on the budget is expected in early spring, once the public consultation has been completed.",
    "Observers noted that attendance at these meetings has grown steadily since the sessions began streaming online.",
    "The next meeting will take place at the town hall and will be open to anyone who wishes to speak.",
]
PROSE = "\n".join(SENTENCES)  # 12 lines, ~200 words: passes every default rule


def family(*modules, **config) -> RuleSet:
    return RuleSet(FilterConfig(rules=[rule.name for module in modules for rule in module.RULES], **config))


def first_rejection(text: str, rules: RuleSet, language: str = "en", url: str | None = None):
    verdict = evaluate(text, rules.steps(language), language, url)
    return (verdict.rejections[0].rule, round(verdict.rejections[0].value, 4)) if verdict.rejections else None


def random_token(length: int) -> str:
    rng = random.Random(0)
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                   for _ in range(length))


ROWS = [
    # (family modules, text, expected reason, measured value)
    ((degenerate,), PROSE + "\n" + "/" * 300, "degenerate_char_run", 300),
    ((degenerate,), PROSE + "\n" + random_token(1500), "degenerate_long_word", 1500),
    ((degenerate,), PROSE + "\ufffd" * 40, "degenerate_non_printable", 0.0313),
    ((degenerate,), "/ " * 500, "degenerate_symbol_share", 1.0),
    ((repetition,), PROSE + "\nOk." * 7, "dup_line_frac", 0.3158),
    ((repetition,), "\n\n".join(["\n".join(SENTENCES[:6]), "Ok.", "Ok.", "Ok."]), "dup_para_frac", 0.5),
    ((repetition,), "\n".join([*SENTENCES[:3], "-=" * 150, *SENTENCES[3:6], "-=" * 150]), "dup_line_char_frac", 0.2471),
    # a paragraph of many one-character lines: its newlines count for paragraphs, not for lines
    ((repetition,), "\n\n".join(["\n".join("abcdefg"), "\n".join("hijklmn"), "\n".join("opqrst"),
                                 "\n".join("0123456789"),
                                  "\n".join("0123456789")]), "dup_para_char_frac", 0.2289),
    ((repetition,), PROSE + "\n" + "buy now " * 60, "top_2gram_char_frac", 0.2442),
    ((repetition,), PROSE + "\n" + "go to wonderfulness " * 40, "top_3gram_char_frac", 0.3725),
    ((repetition,), PROSE + "\n" + "ab cd ef extraordinarily " * 35, "top_4gram_char_frac", 0.3972),
    ((repetition,), "\n".join([*SENTENCES[:6], SENTENCES[0][:-1] + ", as reported.",
                               SENTENCES[1][:-1] + ", it seems."]),
     "dup_5gram_char_frac", 0.2005),
    ((gopher,), "Only a few words here, which is not enough for a document.", "gopher_word_count", 12),
    ((gopher,), PROSE + "\n" + " ".join(["a b c d e f g h i j k l m n o p q r s t"] * 25), "gopher_mean_word_length",
     2.1712),
    ((gopher,), PROSE + "\n" + " ".join(f"#tag{i}" for i in range(60)), "gopher_hash_ratio", 0.1775),
    ((gopher,), PROSE + "\n" + " ".join(["more..."] * 60), "gopher_ellipsis_ratio", 0.1775),
    ((gopher,), "\n".join(f"• {sentence}" for sentence in SENTENCES), "gopher_bullet_lines", 1.0),
    ((gopher,), "\n".join(sentence[:-1] + "..." for sentence in SENTENCES[:6]) + "\n" + "\n".join(SENTENCES[6:]),
     "gopher_ellipsis_lines", 0.5),
    ((gopher,), PROSE + "\n" + " ".join(str(1000 + i) for i in range(150)), "gopher_alpha_words", 0.5462),
    ((gopher,), "Zebras graze quietly near rivers while eagles circle above distant mountains every morning. " * 6,
     "gopher_stop_words", 0),
    ((c4,), PROSE + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", "c4_lorem_ipsum", 1),
    ((c4,), PROSE + "\nThe function body is {return x;} in this example.", "c4_curly_bracket", 1),
    ((c4,), "\n".join(SENTENCES[:3]) + "\nMenu\nHome\nContact us", "c4_min_sentences", 3),
    ((fineweb,), "\n".join(sentence.rstrip(".") for sentence in SENTENCES), "fineweb_line_punct", 0.0),
    ((fineweb,), "\n".join([*SENTENCES[:3], *(f"Item number {i}." for i in range(8))]), "fineweb_short_lines", 0.7273),
    ((fineweb,), PROSE + "\n" + SENTENCES[0], "fineweb_dup_line_chars", 0.0753),
    ((fineweb,), "\n".join(SENTENCES[:2] + [f"Point {i}." for i in range(3)] + [f"Pointe{i} extra." for i in range(3)]),
     "fineweb_short_lines", 0.75),
]


@pytest.mark.parametrize(("modules", "text", "reason", "value"), ROWS, ids=[f"{row[2]}-{i}" for i,
                                                                            row in enumerate(ROWS)])
def test_each_rule_reports_its_reason_and_measured_value(modules, text, reason, value):
    assert first_rejection(text, family(*modules)) == (reason, value)


def test_list_ratio_rejects_one_word_lines():
    text = "\n".join(SENTENCES[:2] + [f"w{i}." for i in range(40)])
    assert first_rejection(text, RuleSet(FilterConfig(rules=["fineweb_list_ratio"]))) == ("fineweb_list_ratio", 0.3565)


def test_clean_prose_passes_every_default_rule():
    verdict = evaluate(PROSE, RuleSet(FilterConfig()).steps("en"), "en", stop_at_rejection=False)
    assert verdict.rejections == []
    assert verdict.text == PROSE  # every line ends with a full stop and has 3+ words: C4 keeps it whole
    default_document_rules = [name for name in FilterConfig().rules if not name.startswith("c4_") or name in
                              ("c4_lorem_ipsum", "c4_curly_bracket", "c4_min_sentences")]
    assert set(default_document_rules) <= set(verdict.values)


@pytest.mark.parametrize(("text", "reason"), [
    ("/" * 10_000, "degenerate_char_run"),
    ("/ " * 5_000, "degenerate_symbol_share"),
    (PROSE + "\n" + "!" * 500, "degenerate_char_run"),
    (random_token(20_000), "degenerate_long_word"),
    ("\x00\x01\x02 binary \x03\x04" * 200, "degenerate_non_printable"),
    ("😀 " * 3_000, "degenerate_symbol_share"),
])
def test_slash_page_and_its_cousins_are_rejected_by_name(text, reason):
    assert first_rejection(text, RuleSet(FilterConfig()))[0] == reason


def test_first_failing_rule_in_config_order_is_reported():
    # fails degenerate_char_run, degenerate_long_word, degenerate_symbol_share, gopher_word_count...
    text = "/" * 10_000
    assert first_rejection(text, RuleSet(FilterConfig())) == ("degenerate_char_run", 10_000)
    reordered = ["gopher_word_count", *(name for name in FilterConfig().rules if name != "gopher_word_count")]
    assert first_rejection(text, RuleSet(FilterConfig(rules=reordered))) == ("gopher_word_count", 0)


def test_c4_line_rules_edit_the_text_and_count_what_they_removed():
    text = "\n".join([SENTENCES[0], "Home | About | Contact", "Please enable JavaScript to view the comments.",
                      "We use cookies; see our privacy policy for details.", "Too short.", SENTENCES[1] + "[1]",
                      *SENTENCES[2:6]])
    verdict = evaluate(text, family(c4).steps("en"), "en")
    assert verdict.rejections == []
    assert verdict.text == "\n".join([SENTENCES[0], SENTENCES[1], *SENTENCES[2:6]])
    assert {key: verdict.values[key] for key in ("c4_terminal_punct", "c4_min_line_words", "c4_javascript_line",
                                                 "c4_policy_line", "c4_citations.chars")} == {
        "c4_terminal_punct": 1, "c4_min_line_words": 1, "c4_javascript_line": 1, "c4_policy_line": 1,
        "c4_citations.chars": 3}
    assert verdict.values["c4_terminal_punct.chars"] == len("Home | About | Contact")


def test_rules_after_a_line_rule_see_the_edited_text():
    text = PROSE + "\n" + "\n".join(f"Related link {i}" for i in range(30))
    rules = RuleSet(FilterConfig(rules=["c4_terminal_punct", "fineweb_short_lines"]))
    verdict = evaluate(text, rules.steps("en"), "en")
    assert verdict.rejections == [] and verdict.values["fineweb_short_lines"] == 0.0
    before = RuleSet(FilterConfig(rules=["fineweb_short_lines", "c4_terminal_punct"]))
    assert first_rejection(text, before)[0] == "fineweb_short_lines"


def test_optional_list_rules_use_the_users_files(tmp_path):
    (tmp_path / "domains.txt").write_text("# blocked\nbad.example\n")
    (tmp_path / "words.txt").write_text("casino\nfree money\n")
    config = FilterConfig(rules=["url_blocklist", "banned_words"],
                          thresholds={"url_blocklist": {"path": str(tmp_path / "domains.txt")},
                                      "banned_words": {"path": str(tmp_path / "words.txt")}})
    rules = RuleSet(config)
    assert first_rejection(PROSE, rules, url="https://www.bad.example/page") == ("url_blocklist", 1)
    assert first_rejection(PROSE, rules, url="https://good.example/") is None
    assert first_rejection(PROSE + "\nWin FREE money at our Casino!", rules) == ("banned_words", 2)
    assert first_rejection(PROSE + "\nA casinoesque design.", rules) is None  # whole words only


def test_every_rule_is_registered_once_with_a_docstring():
    assert len(RULES) == len({rule.name for rule in RULES.values()}) == 40
    assert all((rule.__doc__ or "").strip() for rule in RULES.values())


@pytest.mark.parametrize(("section", "message"), [
    ({"rules": ["gopher_word_cont"]}, "unknown rule 'gopher_word_cont' in rules[0]; known rules: degenerate_char_run"),
    ({"thresholds": {"gopher_word_count": {"min_word": 3}}}, "thresholds.gopher_word_count: min_word: Extra inputs"),
    ({"languages": {"zh": {"dup_line_frac": {"max_frac": 2}}}}, "languages.zh.dup_line_frac: max_frac"),
    ({"rules": ["banned_words"]}, "thresholds.banned_words: path: Field required"),
    ({"rules": ["dup_line_frac", "dup_line_frac"]}, "rules listed twice: dup_line_frac"),
])
def test_config_errors_name_the_rule_and_the_known_ones(section, message):
    from dataflow.pipeline import PipelineConfig

    with pytest.raises(ConfigError, match="invalid config in x.yaml: filter") as err:
        validate_config(PipelineConfig, {"filter": section}, "x.yaml")
    assert message in str(err.value)


def test_language_overrides_merge_over_the_built_in_ones():
    config = FilterConfig(languages={"zh": {"gopher_word_count": {"min_words": 150}}, "ja": None})
    assert config.languages["zh"]["gopher_word_count"] == {"min_words": 150, "max_words": 300_000}
    assert config.languages["zh"]["dup_5gram_char_frac"] == {"n": 10}
    assert config.languages["ja"] is None  # no overrides for Japanese, and it stays so when reloaded
    assert FilterConfig.model_validate(config.model_dump()) == config  # a dumped config reloads unchanged
