"""Agreement with datatrove's Gopher, C4 and FineWeb filters at equal thresholds.

A table of known texts pins datatrove 0.10.1's decisions (recorded with bench/datatrove_filters.py)
and needs no datatrove; when $DATATROVE_PYTHON names datatrove's venv, bench/filter_agreement.py
also runs both sides on 150 real pages, and every page on which they disagree is pinned with both
reasons. The full 1,695-page comparison, with every disagreement listed, is
`python -m bench.filter_agreement` (README, "filter").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.peers import datatrove_problem
from dataflow.filters import c4, fineweb, gopher, repetition
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from tests.conftest import REPO_ROOT
from tests.dataflow.test_filters import PROSE, SENTENCES

FAMILIES = {"gopher_repetition": repetition, "gopher_quality": gopher, "c4": c4, "fineweb": fineweb}

#: text -> datatrove's reason per family (None: kept), as datatrove 0.10.1 decided.
KNOWN = [
    (PROSE, {"gopher_repetition": None, "gopher_quality": None, "c4": None, "fineweb": None}),
    ("/" * 10_000, {"gopher_repetition": None, "gopher_quality": "gopher_short_doc", "c4": "too_few_sentences",
                    "fineweb": "line_punct_ratio"}),
    (PROSE + "\nShare this article.\n" * 8, {"gopher_repetition": "dup_para_frac", "gopher_quality": None, "c4": None,
                                             "fineweb": "char_dup_ratio"}),
    ("\n".join(f"Row {i}: {i * 37 % 1000} {i * 91 % 1000} {i * 13 % 1000} {i * 7 % 100}.{i % 10} units"
               for i in range(40)),
     {"gopher_repetition": "top_2_gram", "gopher_quality": "gopher_below_alpha_threshold", "c4": "too_few_sentences",
      "fineweb": "line_punct_ratio"}),
    (PROSE + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.",
     {"gopher_repetition": None, "gopher_quality": None, "c4": "lorem_ipsum", "fineweb": None}),
    (PROSE + "\nThe function body is {return x;} in this example.",
     {"gopher_repetition": None, "gopher_quality": None, "c4": "curly_bracket", "fineweb": None}),
    ("\n".join(["Home", "About us", "Products", "Contact", "Login", "Register", "Cart", "Help"] * 3),
     {"gopher_repetition": "dup_line_frac", "gopher_quality": "gopher_short_doc", "c4": "too_few_sentences",
      "fineweb": "line_punct_ratio"}),
    (" ".join(["Zebras graze quietly near rivers while eagles circle above distant mountains every morning."] * 6),
     {"gopher_repetition": "top_3_gram", "gopher_quality": "gopher_enough_stop_words", "c4": None, "fineweb": None}),
    ("\n".join(SENTENCES[:3]), {"gopher_repetition": None, "gopher_quality": "gopher_short_doc",
                                "c4": "too_few_sentences", "fineweb": None}),
    (PROSE + "\n" + " ".join(f"#tag{i}" for i in range(60)),
     {"gopher_repetition": None, "gopher_quality": "gopher_too_many_hashes", "c4": None, "fineweb": None}),
    ("\n".join(f"• {sentence}" for sentence in SENTENCES),
     {"gopher_repetition": None, "gopher_quality": "gopher_too_many_bullets", "c4": None, "fineweb": None}),
    ("\n".join(SENTENCES[:2] + [f"Item{i}." for i in range(40)]),
     {"gopher_repetition": None, "gopher_quality": "gopher_below_alpha_threshold", "c4": "too_few_sentences",
      "fineweb": "short_line_ratio"}),
]


def datatrove_thresholds(module) -> RuleSet:
    """One family at datatrove's thresholds: the published defaults, C4 with ASCII terminal marks."""
    return RuleSet(FilterConfig(rules=[rule.name for rule in module.RULES],
                                thresholds={"c4_terminal_punct": {"marks": ".?!\"'"}}))


@pytest.mark.parametrize(("text", "decisions"), KNOWN, ids=[f"text{i}" for i in range(len(KNOWN))])
def test_same_keep_or_drop_as_datatrove_on_known_texts(text, decisions):
    ours = {family: bool(evaluate(text, datatrove_thresholds(module).steps("en"), "en").rejections)
            for family, module in FAMILIES.items()}
    assert ours == {family: reason is not None for family, reason in decisions.items()}


#: The 150-page comparison with datatrove's English word tokenizer for every page (no
#: --datatrove-extra-path): agreement, kept pages (ours, datatrove) and every disagreement as
#: page id -> (our first failing rule, datatrove's reason), None where a side keeps the page. Most
#: are Chinese and Japanese pages, which spaCy's English tokenizer counts in clauses, not words.
RECORDED_150 = {
    "gopher_repetition": (0.9467, 144, 138, {
        "chinese-web-content-extraction/8f1cdd94-6326-49be-bfd0-f3681cc7e89d": (None, "top_2_gram"),
        "chinese-web-content-extraction/d96c76b7-b8c0-4c8b-8898-7ec192555b74": (None, "top_3_gram"),
        "java-extractarticle-ja/000003": (None, "top_4_gram"),
        "java-extractarticle-ja/000018": (None, "top_2_gram"),
        "magic-html-article/45fcfa7d6741f4361646905a7fdbd1928f6c00e8d4ff29c44c9a51e40b6b2607": (None, "top_2_gram"),
        "magic-html-forum/ad412ab23b75646d54e363b4d813c35b33b353be18fa8c80fcb6adba87ab1b32": (None, "top_2_gram"),
        "magic-html-forum/df28ea9a48811ae7caca36f1c9c952179e0ba8cd3240280648bb89c273ee6262": ("top_4gram_char_frac",
                                                                                              None),
        "newspaper/spanish_article": (None, "dup_line_frac")}),
    "gopher_quality": (0.9867, 108, 106, {
        "trafilatura/giromatch.com.kredit": (None, "gopher_below_alpha_threshold"),
        "trafilatura/tonight.de-Arschloch": (None, "gopher_below_alpha_threshold")}),
    "c4": (0.98, 126, 125, {
        "magic-html-article/0987b0ff61a8eca73758b6c328af71dca752bdfa9e7e0139dad6f08c29252960": (None,
                                                                                                "too_few_sentences"),
        "magic-html-forum/df28ea9a48811ae7caca36f1c9c952179e0ba8cd3240280648bb89c273ee6262": ("c4_min_sentences", None),
        "trafilatura/exlibris-deg.de.balsamo": (None, "too_few_sentences")}),
    "fineweb": (0.9533, 130, 123, {
        "chinese-web-content-extraction/064b591b-3cac-4a08-88d0-41c193a2350d": (None, "list_ratio"),
        "chinese-web-content-extraction/d96c76b7-b8c0-4c8b-8898-7ec192555b74": (None, "list_ratio"),
        "magic-html-forum/2c983edd919e457e220e2d746b65b32f9ce035fc074957e90473b4b0f15c948e": (None, "list_ratio"),
        "magic-html-forum/ad412ab23b75646d54e363b4d813c35b33b353be18fa8c80fcb6adba87ab1b32": (None, "list_ratio"),
        "magic-html-forum/c229997de4d0385331ade49903aa2a6096d82be1ca0507aa22133aa1de006690": (None, "line_punct_ratio"),
        "readability/qq": (None, "list_ratio"),
        "trafilatura/xinhuanet.com.c_1125597921": (None, "list_ratio")}),
    "chain": (0.98, 101, 98, {
        "newspaper/spanish_article": (None, "dup_line_frac"),
        "trafilatura/giromatch.com.kredit": (None, "gopher_below_alpha_threshold"),
        "trafilatura/tonight.de-Arschloch": (None, "gopher_below_alpha_threshold")}),
}


@pytest.mark.skipif(datatrove_problem() is not None, reason=f"datatrove is not available: {datatrove_problem()}")
def test_disagreements_with_datatrove_on_real_pages_are_the_recorded_ones(shared_data, tmp_path):
    report_path = tmp_path / "agreement.json"
    done = subprocess.run([sys.executable, "-m", "bench.filter_agreement", "--sample", "150", "--json",
                           str(report_path)],
                          capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
                          env={**os.environ, "DATAFLOW_SHARED_DATA": str(shared_data)})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert (report["pages"], report["datatrove_segments_zh_ja"]) == (150, False)
    assert {family: (figures["agreement"], figures["kept_ours"], figures["kept_datatrove"],
                     {item["id"]: (item["ours"] and item["ours"][0], item["datatrove"])
                      for item in figures["disagreements"]})
            for family, figures in report["families"].items()} == RECORDED_150
