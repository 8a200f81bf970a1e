"""Agreement of our rules with datatrove's Gopher, C4 and FineWeb filters, page by page.

    DATATROVE_PYTHON=.../bin/python python -m bench.filter_agreement [--sample N] [--json out.json]

Both sides see the same documents (../shared/data/html/extracted_trafilatura.jsonl.gz, the
trafilatura text of 1,695 real pages) at equal thresholds: datatrove's defaults, which are
the published ones, and on our side the same rules with
- C4's terminal marks reduced to datatrove's ASCII set (. ? ! " '),
- per page the same stop-word list on both sides: ours for the page's language where we ship
  one, else Gopher's English list (datatrove's default),
- for Chinese and Japanese only our built-in n-gram lengths (n words ~ 2n characters, the same
  thresholds in words), and only when datatrove segments them into words; our other zh/ja
  overrides have no datatrove counterpart and are dropped.
Word segmentation differs by design: ours is dataflow.text.word_units; datatrove's is spaCy's
English tokenizer, and for zh/ja spaCy with jieba / SudachiPy when those are importable from
--datatrove-extra-path (install them there, outside datatrove's venv, with
`$DATATROVE_PYTHON -m pip install --target ../venvs/datatrove-cjk jieba==0.42.1 sudachipy==0.7.0
sudachidict_core==20261015`); without them datatrove's English tokenizer sees
a Chinese clause as one word. Each family is compared alone on the original text, then the
chain in FineWeb's order (repetition, quality, C4 editing the text, FineWeb). datatrove runs
in its own venv, found through $DATATROVE_PYTHON (bench/peers.py), via bench/datatrove_filters.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.peers import datatrove_python
from dataflow.filters import RULES, c4, fineweb, gopher, repetition
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.gopher import stop_words
from bench.common.real_pages import load_pages as real_pages

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data"))
#: datatrove's word-tokenizer codes for the languages it segments with jieba / SudachiPy.
DATATROVE_CJK = {"zh": "cmn", "ja": "ja"}
FAMILIES = {
    "gopher_repetition": [rule.name for rule in repetition.RULES],
    "gopher_quality": [rule.name for rule in gopher.RULES],
    "c4": [rule.name for rule in c4.RULES],
    "fineweb": [rule.name for rule in fineweb.RULES],
}
CHAIN = [name for family in FAMILIES.values() for name in family]
DATATROVE_C4_MARKS = ".?!\"'"


def load_pages(sample: int | None = None) -> list[dict]:
    """{id, text, language, url} of the real pages, sorted by id; `sample` evenly spaced ones."""
    pages = real_pages(SHARED_DATA)
    if sample and sample < len(pages):
        pages = [pages[i * len(pages) // sample] for i in range(sample)]
    return pages


def parity_config(rules: list[str], languages: set[str | None], cjk_words: bool) -> FilterConfig:
    """Our rules at datatrove's thresholds (see the module docstring)."""
    english = sorted(stop_words("en"))
    overrides: dict = {language: None for language in DATATROVE_CJK}  # drop the built-in CJK values...
    if cjk_words:  # ...but the n-gram lengths, when datatrove counts zh/ja in words too
        overrides = {language: {name: values if "gram" in name else _rule_defaults(name, values)
                                for name, values in FilterConfig().languages[language].items()}
                     for language in DATATROVE_CJK}
    overrides |= {language: {"gopher_stop_words": {"words": english}}
                  for language in languages if language and stop_words(language) is None}
    return FilterConfig(rules=rules, thresholds={"c4_terminal_punct": {"marks": DATATROVE_C4_MARKS}},
                        languages=overrides)


def _rule_defaults(name: str, fields: dict) -> dict:
    """The rule's own defaults for `fields`: undoes a built-in language override."""
    return {field: RULES[name].model_fields[field].default for field in fields}


def page_stop_words(page: dict) -> list[str]:
    """The stop-word list the parity config uses for a page, for datatrove's GopherQualityFilter."""
    return sorted(stop_words(page["language"] or "") or stop_words("en"))


def datatrove_segments_cjk(python: str, extra_path: str | None) -> bool:
    """Whether datatrove's venv can import jieba and SudachiPy (with `extra_path` on its path)."""
    check = subprocess.run([python, "-c", "import jieba, sudachipy, sudachidict_core"], env=_env(extra_path),
                           capture_output=True)
    return check.returncode == 0


def run_datatrove(pages: list[dict], python: str, extra_path: str | None, cjk_words: bool) -> tuple[dict[str, dict],
                                                                                                    dict]:
    """datatrove's decisions per page id, and its timing line."""
    with tempfile.TemporaryDirectory(prefix="datatrove-") as tmp:
        source, target = os.path.join(tmp, "docs.jsonl"), os.path.join(tmp, "decisions.jsonl")
        with open(source, "w", encoding="utf-8") as handle:
            for page in pages:
                language = DATATROVE_CJK.get(page["language"], "en") if cjk_words else "en"
                handle.write(json.dumps({"id": page["id"], "text": page["text"], "language": language,
                                         "stop_words": page_stop_words(page)}) + "\n")
        done = subprocess.run([python, str(REPO / "bench" / "datatrove_filters.py"), source, target],
                              capture_output=True, text=True, check=True, env=_env(extra_path))
        with open(target, encoding="utf-8") as handle:
            decisions = {row["id"]: row for row in map(json.loads, handle)}
    return decisions, json.loads(done.stdout.strip().splitlines()[-1])


def _env(extra_path: str | None) -> dict:
    if not extra_path or not os.path.isdir(extra_path):
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [extra_path, os.environ.get("PYTHONPATH")]))}


def our_decisions(pages: list[dict], cjk_words: bool) -> dict[str, dict]:
    """Per page id and family (and "chain"): None when kept, else (rule, value)."""
    languages = {page["language"] for page in pages}
    rule_sets = {family: RuleSet(parity_config(rules, languages, cjk_words))
                 for family, rules in {**FAMILIES, "chain": CHAIN}.items()}
    decisions = {}
    for page in pages:
        row = {}
        for family, rules in rule_sets.items():
            verdict = evaluate(page["text"], rules.steps(page["language"]), page["language"], page["url"])
            first = verdict.rejections[0] if verdict.rejections else None
            row[family] = None if first is None else (first.rule, round(first.value, 4))
        decisions[page["id"]] = row
    return decisions


def compare(pages: list[dict], ours: dict, theirs: dict, cjk_words: bool) -> dict:
    """Agreement share per family and the list of disagreements."""
    report = {"pages": len(pages), "datatrove_segments_zh_ja": cjk_words, "families": {}}
    for family in [*FAMILIES, "chain"]:
        disagreements = [{"id": page["id"], "language": page["language"], "ours": ours[page["id"]][family],
                          "datatrove": theirs[page["id"]][family]}
                         for page in pages
                         if (ours[page["id"]][family] is None) != (theirs[page["id"]][family] is None)]
        kept = sum(ours[page["id"]][family] is None for page in pages)
        report["families"][family] = {"agreement": round(1 - len(disagreements) / len(pages), 4),
                                      "kept_ours": kept,
                                      "kept_datatrove": sum(theirs[page["id"]][family] is None for page in pages),
                                      "disagreements": disagreements}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, help="use this many evenly spaced pages (default: all 1,695)")
    parser.add_argument("--json", help="also write the report as JSON here")
    parser.add_argument("--datatrove-extra-path",
                        help="folder with jieba and SudachiPy for datatrove's zh/ja tokenizers (optional)")
    args = parser.parse_args(argv)
    python = datatrove_python()
    pages = load_pages(args.sample)
    cjk_words = datatrove_segments_cjk(python, args.datatrove_extra_path)
    cjk = ", jieba (zh), SudachiPy (ja)" if cjk_words else " for every page"
    print(f"datatrove word tokenizer: spaCy English{cjk}")
    theirs, _ = run_datatrove(pages, python, args.datatrove_extra_path, cjk_words)
    report = compare(pages, our_decisions(pages, cjk_words), theirs, cjk_words)
    for family, figures in report["families"].items():
        print(f"{family:<18} agreement {figures['agreement']:.2%} on {report['pages']} pages "
              f"(kept: ours {figures['kept_ours']}, datatrove {figures['kept_datatrove']}; "
              f"{len(figures['disagreements'])} disagreements)")
        for item in figures["disagreements"]:
            ours = "kept" if item["ours"] is None else f"{item['ours'][0]}={item['ours'][1]}"
            print(f"    {item['id']} [{item['language']}]  ours: {ours}  datatrove: {item['datatrove'] or 'kept'}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
