"""Main-text extractors against gold text: trafilatura (our settings) vs Resiliparse, same pages.

The pages of ../shared/data/html whose gold is a full main text (article-extraction-benchmark's
articleBody, magic-html's content, the hand-cleaned texts of newspaper, newspaper4k,
htmltotext-benchmark and the Chinese dataset, goose3's cleaned_text, readability's expected
HTML as text) are decoded as the extract stage does (dataflow/extract/charset.py) and handed to
both extractors of `dataflow/extract/records.EXTRACTORS`. Scores are token-level as in
scrapinghub's article-extraction-benchmark: bags of word units (`dataflow.text.word_units`, so
Chinese and Japanese count per character), precision = overlap / extracted tokens, recall =
overlap / gold tokens, F1 per page, averaged per source and overall (an empty extraction
scores 0). Speed is pages per CPU second of this one process (one core), each extractor timed
over all pages `--repeat` times, best and spread shown.

`--settings` adds trafilatura's other precision/recall settings, measured but not offered as an
`extractor`: neither `favor_precision` nor `favor_recall` (trafilatura's default balance) and
`favor_recall`, each with `fast` off.

    python -m bench.extractors [--repeat 3] [--settings] [--shared-data ../shared/data]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from dataflow.extract.charset import decode_html
from dataflow.extract.html_text import TRAFILATURA_SETTINGS, extract_main_text
from dataflow.extract.records import EXTRACTORS
from dataflow.text import word_units

REPO = Path(__file__).resolve().parents[1]


#: `--settings`: trafilatura's precision/recall settings other than ours (`favor_precision`).
SETTINGS = {"traf_balanced": {**TRAFILATURA_SETTINGS, "favor_precision": False},
            "traf_recall": {**TRAFILATURA_SETTINGS, "favor_precision": False, "favor_recall": True}}


def gold_text(html_dir: Path, kind: str, ref: str, cache: dict) -> str | None:
    """The gold main text of one page, or None for gold that is not a main text (dates, segments)."""
    file, _, key = ref.partition("#")
    if kind in ("article_body", "main_content"):
        if file not in cache:
            cache[file] = json.loads((html_dir / file).read_text(encoding="utf-8"))
        entry = cache[file][key]
        return entry.get("articleBody") if kind == "article_body" else entry.get("content")
    if kind == "main_text":
        return (html_dir / file).read_text(encoding="utf-8")
    if kind == "goose3_expected":
        return json.loads((html_dir / file).read_text(encoding="utf-8"))["expected"].get("cleaned_text")
    if kind == "readability_expected_html":
        import lxml.html

        return lxml.html.fromstring(gzip.open(html_dir / file).read()).text_content()
    return None


def load_gold_pages(shared: Path) -> list[dict]:
    """[{source, html, gold}] of the pages with a full gold main text."""
    html_dir, cache, pages = shared / "html", {}, []
    for row in map(json.loads, open(html_dir / "manifest.jsonl", encoding="utf-8")):
        for kind, ref in (row.get("gold") or {}).items():
            gold = gold_text(html_dir, kind, ref, cache)
            if gold and gold.strip():
                html, _ = decode_html(gzip.open(html_dir / row["file"]).read(), None)
                pages.append({"source": row["source"], "html": html, "gold": gold})
                break
    return pages


def scores(extracted: str | None, gold: str) -> tuple[float, float, float]:
    """Token-level (precision, recall, F1) of one page's extraction against its gold."""
    got, want = Counter(word_units(extracted or "")), Counter(word_units(gold))
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if overlap else 0.0)


def timed_run(extract, pages: list[dict]) -> tuple[list[str | None], float]:
    started = time.process_time()
    texts = [extract(page["html"]) for page in pages]
    return texts, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over all pages per extractor")
    parser.add_argument("--settings", action="store_true", help="also trafilatura's other precision/recall settings")
    parser.add_argument("--shared-data", type=Path,
                        default=Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data")))
    args = parser.parse_args()
    pages = load_gold_pages(args.shared_data)
    print(f"{len(pages)} pages with gold main text from {len({p['source'] for p in pages})} sources; "
          f"speed in pages per CPU second (one core), best of {args.repeat} (min-max)")
    per_source: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    extractors = dict(EXTRACTORS)
    if args.settings:
        extractors |= {name: functools.partial(extract_main_text, settings=settings)
                       for name, settings in SETTINGS.items()}
    for name, extract in extractors.items():
        extract(pages[0]["html"])  # imports and first-call set-up are not per page
        runs = [timed_run(extract, pages) for _ in range(args.repeat)]
        rates = [len(pages) / seconds for _, seconds in runs]
        for page, text in zip(pages, runs[0][0]):
            per_source[page["source"]][name].append(scores(text, page["gold"]))
        overall = [s for by_name in per_source.values() for s in by_name[name]]
        p, r, f = (statistics.fmean(values) for values in zip(*overall))
        print(f"{name:12s} {max(rates):7.1f} pages/s ({min(rates):.1f}-{max(rates):.1f}); "
              f"precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
    print(f"\n{'source':32s} {'pages':>5s}  " + "  ".join(f"{name + ' P/R/F1':>26s}" for name in extractors))
    for source in sorted(per_source):
        cells = []
        for name in extractors:
            p, r, f = (statistics.fmean(values) for values in zip(*per_source[source][name]))
            cells.append(f"{p:8.3f} {r:8.3f} {f:8.3f}")
        print(f"{source:32s} {len(per_source[source]['trafilatura']):5d}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
