"""Agreement with datatrove's Gopher, C4 and FineWeb filters at equal thresholds.

A table of known texts pins datatrove 0.10.1's decisions (recorded with bench/datatrove_filters.py)
and needs no datatrove; when datatrove's venv exists, bench/filter_agreement.py also runs both
sides on 150 real pages. The full 1,695-page comparison, with every disagreement listed, is
`python bench/filter_agreement.py` (README, "filter").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dataflow.filters import c4, fineweb, gopher, repetition
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from tests.conftest import REPO_ROOT
from tests.dataflow.test_filters import PROSE, SENTENCES

DATATROVE_PYTHON = "/work/venvs/datatrove/bin/python"
FAMILIES = {"gopher_repetition": repetition, "gopher_quality": gopher, "c4": c4, "fineweb": fineweb}

#: text -> datatrove's reason per family (None: kept), as datatrove 0.10.1 decided.
KNOWN = [
    (PROSE, {"gopher_repetition": None, "gopher_quality": None, "c4": None, "fineweb": None}),
    ("/" * 10_000, {"gopher_repetition": None, "gopher_quality": "gopher_short_doc", "c4": "too_few_sentences",
                    "fineweb": "line_punct_ratio"}),
    (PROSE + "\nShare this article.\n" * 8, {"gopher_repetition": "dup_para_frac", "gopher_quality": None, "c4": None,
                                             "fineweb": "char_dup_ratio"}),
    ("\n".join(f"Row {i}: {i * 37 % 1000} {i * 91 % 1000} {i * 13 % 1000} {i * 7 % 100}.{i % 10} units" for i in range(40)),
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


@pytest.mark.skipif(not os.path.exists(DATATROVE_PYTHON),
                    reason=f"datatrove's venv ({DATATROVE_PYTHON}) is absent; see ../shared/ENVIRONMENT.md to create it")
def test_agreement_with_datatrove_on_real_pages_is_at_least_97_percent(shared_data, tmp_path):
    report_path = tmp_path / "agreement.json"
    subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "filter_agreement.py"), "--sample", "150",
                    "--json", str(report_path)], check=True, capture_output=True, timeout=600,
                   env={**os.environ, "DATAFLOW_SHARED_DATA": str(shared_data)})
    report = json.loads(report_path.read_text())
    assert report["pages"] == 150
    assert {family: figures["agreement"] >= 0.97 for family, figures in report["families"].items()} == {
        family: True for family in [*FAMILIES, "chain"]}
