"""Chinese and Japanese pages through the filter rules: clean articles kept, junk still rejected.

    python -m bench.cjk_thresholds [--overrides calibrated.yaml] [--pages 2000]

Two sets, each run under four configurations side by side: `before` (gopher_alpha_words
counting punctuation for zh/ja, the definition before issue 15), `before issue 27` (C4 drops
an unterminated line whole, even one holding many sentences), `now` (the defaults), and
`now + calibrated` when `--overrides` names a file written by `dataflow filters calibrate`:

- clean: the zh/ja pages of ../shared/data/html whose trafilatura text has at least 1,000
  characters and is not a markdown table dump (under 30% of lines starting with "|", which is
  how trafilatura renders table-laid-out portal pages), minus the pages read by eye as not clean
  articles (`NOT_CLEAN`, each with the reason). Every rejected page is listed with its rule and value.
  The same articles are also run laid out as one table line (`as_table_line`), the way
  trafilatura renders an article whose body sits in a table cell.
- junk: every degenerate, spam and boilerplate page of the project's sample crawl (`dataflow
  sample-warcs`, seed 0, all languages; the zh/ja ones counted apart), extracted with the extract
  stage's trafilatura settings; every one must be rejected.
Per configuration it also counts the clean pages failing `gopher_alpha_words` at all (every rule
run, not only the first failing one).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import Counter
from pathlib import Path

from dataflow.config import load_yaml, validate_config
from dataflow.extract.charset import decode_html
from dataflow.extract.html_text import extract_main_text
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.samples.captures import build_captures

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data"))
JUNK_KINDS = ("degenerate", "spam", "boilerplate")
#: Long zh/ja pages that are not clean articles, read by eye (id prefixes).
NOT_CLEAN = {
    "java-extractarticle-ja/000027": "2channel thread: post headers with timestamps and ids",
    "java-extractarticle-ja/000028": "2channel-style thread: timestamps and ids",
    "java-extractarticle-ja/000029": "2channel-style thread: timestamps and ids",
    "magic-html-article/777ddd63e01e0fb13f4ab1f4bc6a2ff0c15e68c5": "poetry site navigation, one menu word per line",
    "magic-html-forum/bc87ae6202bd353c4738b45a6645a304ccc465ccc7":
        "forum post of markdown fragments and repeated lines",
}


def clean_pages(shared_data: Path = SHARED_DATA) -> list[dict]:
    manifest = {row["id"]: row for row in map(json.loads, open(shared_data / "html" / "manifest.jsonl"))}
    pages = []
    with gzip.open(shared_data / "html" / "extracted_trafilatura.jsonl.gz", "rt", encoding="utf-8") as handle:
        for row in map(json.loads, handle):
            page, text = manifest[row["id"]], row["text"] or ""
            if page.get("lang") not in ("zh", "ja") or len(text) < 1000 or row["id"].startswith(tuple(NOT_CLEAN)):
                continue
            lines = [line for line in text.split("\n") if line.strip()]
            if sum(line.lstrip().startswith("|") for line in lines) > 0.3 * len(lines):
                continue
            pages.append({"id": row["id"], "text": text, "language": page["lang"], "url": page.get("url")})
    return pages


def as_table_line(text: str) -> str:
    """`text` as trafilatura renders an article laid out in a table cell: its paragraphs on one line,
    between the cell marks ("| … |"), ending in no terminal mark."""
    return "| " + " ".join(line.strip() for line in text.splitlines() if line.strip()) + " |"


def junk_pages(num_pages: int) -> list[dict]:
    pages = []
    for capture in build_captures(num_pages, 0):
        if capture.kind in JUNK_KINDS and capture.status == 200:
            html, _ = decode_html(capture.body, None)
            pages.append({"id": f"{capture.kind}:{capture.language}:{capture.facts.get('variant', '')}:{capture.url}",
                          "text": extract_main_text(html) or "", "language": capture.language, "url": capture.url})
    return pages


def configs(overrides: Path | None) -> dict[str, FilterConfig]:
    before = {"languages": {lang: {"gopher_alpha_words": {"punctuation_tokens": True}} for lang in ("zh", "ja")}}
    unsplit = {"languages": {lang: {"c4_terminal_punct": {"split_sentences": 0}} for lang in ("zh", "ja")}}
    found = {"before (punctuation counted)": FilterConfig(**before),
             "before issue 27 (unterminated lines not cut into sentences)": FilterConfig(**unsplit),
             "now": FilterConfig()}
    if overrides is not None:
        section = (load_yaml(overrides) or {}).get("filter", {})
        found[f"now + {overrides.name}"] = validate_config(FilterConfig, section, str(overrides))
    return found


def verdicts(pages: list[dict], config: FilterConfig) -> list[list[tuple[str, float]]]:
    """Per page, every failing rule with its value (first = the stage's reason), all rules run."""
    rules = RuleSet(config)
    return [[tuple(r) for r in evaluate(page["text"], rules.steps(page["language"]), page["language"], page["url"],
                                        stop_at_rejection=False).rejections] for page in pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--overrides", type=Path, help="a `filter: languages:` file from `dataflow filters calibrate`")
    parser.add_argument("--pages", type=int, default=2000, help="pages of the sample crawl to draw junk from")
    args = parser.parse_args(argv)
    clean, junk = clean_pages(), junk_pages(args.pages)
    print(f"clean zh/ja articles: {len(clean)} ({Counter(p['language'] for p in clean)}); "
          f"{len(NOT_CLEAN)} long pages left out by eye: " + "; ".join(NOT_CLEAN.values()))
    cjk_junk = [page["language"] in ("zh", "ja") for page in junk]
    print(f"junk sample pages: {len(junk)} ({Counter(p['id'].split(':')[0] for p in junk)}), {sum(cjk_junk)} in zh/ja")
    for name, config in configs(args.overrides).items():
        on_clean, on_junk = verdicts(clean, config), verdicts(junk, config)
        kept = sum(not v for v in on_clean)
        alpha = sum(any(rule == "gopher_alpha_words" for rule, _ in v) for v in on_clean)
        rejected_junk = [bool(v) for v in on_junk]
        print(f"\n{name}: clean kept {kept}/{len(clean)} ({kept / len(clean):.1%}), {alpha} failing "
              "gopher_alpha_words; "
              f"junk rejected {sum(rejected_junk)}/{len(junk)} "
              f"(zh/ja {sum(r for r, c in zip(rejected_junk, cjk_junk) if c)}/{sum(cjk_junk)})")
        tables = [{**page, "text": as_table_line(page["text"])} for page in clean]
        table_kept = sum(not v for v in verdicts(tables, config))
        print(f"  laid out as one table line (| ... |): clean kept {table_kept}/{len(clean)} "
              f"({table_kept / len(clean):.1%})")
        print("  clean pages rejected, by first rule: " + ", ".join(
            f"{rule} {count}" for rule, count in Counter(v[0][0] for v in on_clean if v).most_common()))
        for page, verdict in zip(clean, on_clean):
            if verdict:
                print(f"    {page['id'][:60]:<60} " + ", ".join(f"{rule} = {value:.4g}" for rule, value in verdict))
        for page, verdict in zip(junk, on_junk):
            if not verdict:
                print(f"    JUNK KEPT: {page['id'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
