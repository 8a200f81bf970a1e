"""Text repair (dataflow/extract/repair.py) on real text: mojibake restored, clean text left alone, cost.

    python -m bench.text_repair [--limit N]

- broken: each real page of ../shared/data/html (trafilatura text) turned into mojibake the way it
  happens on the web: its UTF-8 bytes decoded as cp1252 (WHATWG's, as browsers and most tools
  read it), its UTF-8 bytes decoded as latin-1, and, for the Japanese pages, its Shift_JIS (cp932)
  bytes decoded as cp1252. The share restored exactly (repaired text == the page's text), per kind.
- clean: the untouched real pages and the WikiText-2 test and validation articles; the share of
  documents repair changes at all, and every change listed with a snippet around the first
  difference (before -> after) and the kinds of fix applied.
- cost: CPU milliseconds per document for repair of the clean pages, beside trafilatura's
  extraction time per page (the stage repair runs in) measured on the first 200 pages.
With DATATROVE_PYTHON set (a datatrove 0.10.1 venv), datatrove's FTFYFormatter runs on the same
texts in the same run (bench/datatrove_formatters.py): restored shares, changed shares, CPU time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from bench.datatrove_formatters import run_formatter
from dataflow.extract.charset import decode_html
from dataflow.extract.html_text import extract_main_text
from dataflow.extract.repair import TextRepairConfig, repair_text
from bench.common.real_pages import real_texts

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CONFIG = TextRepairConfig()


def breakages(page: dict) -> dict[str, str]:
    """The page's text as each kind of mojibake, where its bytes allow it."""
    text = page["text"]
    broken = {"utf-8 read as cp1252": text.encode("utf-8").decode("sloppy-windows-1252"),
              "utf-8 read as latin-1": text.encode("utf-8").decode("latin-1")}
    if page["language"] == "ja":
        try:
            broken["shift_jis read as cp1252"] = text.encode("cp932").decode("sloppy-windows-1252")
        except UnicodeEncodeError:  # characters Shift_JIS cannot hold: such a page was never Shift_JIS
            pass
    return {kind: value for kind, value in broken.items() if value != text}


def wikitext_articles(min_chars: int = 1) -> list[str]:
    """The WikiText-2 test and validation articles (split at their ` = Title = ` lines)."""
    articles = []
    for split in ("test", "valid"):
        text = gzip.open(SHARED_DATA / "text" / "wikitext-2" / f"{split}.txt.gz", "rt", encoding="utf-8").read()
        articles += [part for part in re.split(r"\n = [^=\n]+ = \n", text) if len(part.strip()) >= min_chars]
    return articles


def first_difference(before: str, after: str, context: int = 40) -> str:
    start = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    window = slice(max(0, start - context), start + context)
    return f"{json.dumps(before[window], ensure_ascii=False)} -> {json.dumps(after[window], ensure_ascii=False)}"


def restored_report(pages: list[dict]) -> None:
    broken = [{"id": f"{kind}|{page['id']}", "text": text, "original": page["text"]}
              for page in pages for kind, text in breakages(page).items()]
    peer = run_formatter("ftfy", [{"id": row["id"], "text": row["text"]} for row in broken])
    tried, restored, peer_restored = Counter(), Counter(), Counter()
    failures: dict[str, list[str]] = {}
    for row in broken:
        kind = row["id"].split("|")[0]
        tried[kind] += 1
        repaired, _ = repair_text(row["text"], CONFIG)
        if repaired == row["original"]:
            restored[kind] += 1
        else:
            failures.setdefault(kind, []).append(f"{row['id'].split('|')[1][:12]} "
                                                 f"{first_difference(row['original'], repaired)}")
        peer_restored[kind] += peer is not None and peer[0][row["id"]] == row["original"]
    print("mojibake made from the real pages, restored exactly" + (" (datatrove 0.10.1 FTFYFormatter beside)" if peer
                                                                   else "") + ":")
    for kind in tried:
        beside = (f"; datatrove {peer_restored[kind]}/{tried[kind]} ({peer_restored[kind] / tried[kind]:.1%})"
                  if peer else "")
        print(f"  {kind:<26} ours {restored[kind]}/{tried[kind]} ({restored[kind] / tried[kind]:.1%}){beside}")
        for line in failures.get(kind, [])[:5]:
            print(f"    not restored: {line}")


def clean_report(name: str, texts: list[tuple[str, str]]) -> None:
    changed = []
    started = time.process_time()
    for doc_id, text in texts:
        repaired, kinds = repair_text(text, CONFIG)
        if repaired != text:
            changed.append((doc_id, kinds, first_difference(text, repaired)))
    ours_ms = (time.process_time() - started) / len(texts) * 1000
    peer = run_formatter("ftfy", [{"id": doc_id, "text": text} for doc_id, text in texts])
    beside = ""
    if peer is not None:
        peer_changed = sum(peer[0][doc_id] != text for doc_id, text in texts)
        beside = (f"; datatrove FTFYFormatter {peer_changed} ({peer_changed / len(texts):.2%}), "
                  f"{peer[1] / len(texts) * 1000:.3f} ms per document against our {ours_ms:.3f}")
    print(f"clean {name}: {len(changed)}/{len(texts)} documents changed ({len(changed) / len(texts):.2%}){beside}")
    for doc_id, kinds, snippet in changed:
        print(f"    {doc_id[:12]} {','.join(kinds)}: {snippet}")


def cost_report(pages: list[dict]) -> None:
    started = time.process_time()
    for page in pages:
        repair_text(page["text"], CONFIG)
    repair_ms = (time.process_time() - started) / len(pages) * 1000
    manifest = [json.loads(line) for line in open(SHARED_DATA / "html" / "manifest.jsonl", encoding="utf-8")][:200]
    htmls = [decode_html(gzip.open(SHARED_DATA / "html" / row["file"]).read(), None)[0] for row in manifest]
    started = time.process_time()
    for html in htmls:
        extract_main_text(html)
    extract_ms = (time.process_time() - started) / len(htmls) * 1000
    print(f"cost: repair {repair_ms:.3f} ms per document (mean {sum(len(p['text']) for p in pages) / len(pages):,.0f} "
          f"characters); trafilatura {extract_ms:.1f} ms per page: repair adds {repair_ms / extract_ms:.1%} to "
          "extraction")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N real pages")
    args = parser.parse_args(argv)
    if not SHARED_DATA.is_dir():
        parser.error(f"shared data not found at {SHARED_DATA}")
    pages = real_texts(SHARED_DATA, args.limit)
    restored_report(pages)
    clean_report("real pages", [(page["id"], page["text"]) for page in pages])
    clean_report("WikiText-2 articles", [(f"wikitext-{i}", text) for i, text in enumerate(wikitext_articles())])
    cost_report(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
