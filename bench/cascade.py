"""The extract cascade's pre-filters against the full path: agreement, pages spared and speed-up.

All real pages of ../shared/data/html (a language-mixed set: en 684, de 580, zh 124, ...) are
written as one Common Crawl-like WARC and extracted in this process. Two pre-filters:

- language (`--language`): with `keep_languages: [en]`, the full path (`language_prefilter_min_score:
  null`: every page through trafilatura and lid.176) against the cascade (the default margin, or
  `--min-score`);
- quality gate (`--gate`, the default): all languages, the full path (trafilatura, then the
  default filter rules) against the cascade with the gate (dataflow/extract/quality_gate.py: the
  filter's rules on Resiliparse's text, loosened by `MARGINS`). Agreement is counted on the
  documents the filter keeps, separately on the even pages (where `--tune` set the margins) and
  the odd ones (held out), with per rule the pages the gate drops and how many of them the full
  path keeps.

Each prints pages per CPU second of both paths (one core, the best of `--repeat` runs with the
spread, alternated so that both see the same load), the speed-up, and the agreement: the share
of the pages the full path keeps that the cascade keeps too (target >= 99.5%), listing any page lost.

`--tune` measures instead of timing: every candidate rule (each document rule of the default
config before the first line rule) on Resiliparse's text of every page, in the language guessed
from it, and per rule the worst failure factor (how far beyond the threshold: value / maximum,
minimum / value) among the even pages whose document the full path keeps. The margin is that
factor times `--slack`. A rule is gated only if it is stable within the even pages (the margin
from pages 4k loses no kept document of pages 4k+2, and the reverse) and drops at least one even
page; the table gives, for even and odd pages, the pages each rule would drop and how many of them
the full path keeps, then the whole gate's figures, and the `MARGINS` to paste. The odd pages
play no part in the choice.

    python -m bench.cascade [--gate | --language | --tune [--cache m.json]] [--repeat 2] [--min-score 0.9]
                            [--slack 1.1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from dataflow.extract import langid, resiliparse_text
from dataflow.extract.cascade import PREFILTER_CHARS
from dataflow.extract.charset import decode_html
from dataflow.extract.langid import default_model_path
from dataflow.extract.quality_gate import MARGINS, PREFIX, QualityGate, gate_rule_names
from dataflow.extract.records import ExtractConfig, extract_file, make_cascade
from dataflow.extract.warc import read_archive
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet, make_rule
from dataflow.filters.rule import MaxValue, MinValue, ValueRange
from dataflow.filters.stats import TextStats
from bench.common.warc_builder import Page, real_pages, write_warc

REPO = Path(__file__).resolve().parents[1]


def run(path: Path, config: ExtractConfig, filter_config: FilterConfig | None = None) -> tuple[dict[str, dict], float]:
    """url -> row of one extraction of `path` (the gate on with `filter_config`), and its CPU seconds."""
    model = default_model_path()
    started = time.process_time()
    cascade = make_cascade(config, model, filter_config)
    rows = [row for batch in extract_file(str(path), config, model, cascade) for row in batch.to_pylist()]
    seconds = time.process_time() - started
    return {row["url"]: row for row in rows if row["url"]}, seconds


def filter_kept(rows: dict[str, dict], config: FilterConfig) -> set[str]:
    """URLs whose document the extract stage keeps and then the filter rules keep."""
    rules = RuleSet(config)
    return {url for url, row in rows.items() if row["reject_reason"] is None
            and not evaluate(row["text"], rules.steps(row["language"]), row["language"], url).rejections}


def page_index(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def failure_factor(rule, value: float | None) -> float:
    """How far `value` lies beyond the rule's threshold (> 1: the rule rejects it; 0: it passes)."""
    if value is None:
        return 0.0
    if isinstance(rule, ValueRange):
        low, high = (getattr(rule, field) for field in rule.thresholds)
        return ratio(low, value) if value < low else ratio(value, high) if value > high else 0.0
    threshold = getattr(rule, rule.threshold)
    if isinstance(rule, MaxValue):
        return ratio(value, threshold) if value > threshold else 0.0
    if isinstance(rule, MinValue):
        return ratio(threshold, value) if value < threshold else 0.0
    return 0.0


def ratio(big: float, small: float) -> float:
    return big / small if small > 0 else math.inf


def measure_gate_rules(path: Path, config: FilterConfig) -> tuple[set[str], Counter, dict[str, dict[str, float]]]:
    """(URLs of the documents the full path keeps, its first rejection reasons, url -> rule -> failure
    factor on Resiliparse's text) for every candidate rule."""
    candidates = gate_rule_names(config, {name: 1.0 for name in config.rules})
    full, _ = run(path, ExtractConfig())
    kept = filter_kept(full, config)
    rules = RuleSet(config)
    reasons = Counter(row["reject_reason"] or (evaluate(row["text"], rules.steps(row["language"]), row["language"],
                                                        url).rejections or [("kept",)])[0][0]
                      for url, row in full.items())
    factors: dict[str, dict[str, float]] = {}
    model = default_model_path()
    for record in read_archive(str(path), max_payload_bytes=ExtractConfig().max_html_bytes):
        if record.record_type != "response" or not record.payload:
            continue
        text = resiliparse_text.extract_main_text(decode_html(record.payload, record.header_charset)[0])
        if not text:
            continue
        language = langid.identify([text[:PREFILTER_CHARS]], model)[0][0]
        key = language if config.languages.get(language) else ""
        doc = TextStats(text, language)
        factors[record.url] = {name: failure_factor(rule := make_rule(config, name, key), rule.measure(doc))
                               for name in candidates}
    return kept, reasons, factors


def tune(path: Path, config: FilterConfig, slack: float, cache: Path | None) -> None:
    if cache is not None and cache.exists():
        saved = json.loads(cache.read_text())
        kept, reasons, factors = set(saved["kept"]), Counter(saved["reasons"]), saved["factors"]
    else:
        kept, reasons, factors = measure_gate_rules(path, config)
        if cache is not None:
            cache.write_text(json.dumps({"kept": sorted(kept), "reasons": reasons, "factors": factors}))
    quarter = {url: page_index(url) % 4 for url in factors}
    even = [url for url in factors if quarter[url] in (0, 2)]
    odd = [url for url in factors if quarter[url] in (1, 3)]

    def worst(name: str, urls: list[str]) -> float:
        return max(1.0, max((factors[url][name] for url in urls if url in kept), default=0.0)) * slack

    def dropped(name: str, margin: float, urls: list[str]) -> tuple[int, int]:
        over = [url for url in urls if factors[url][name] > margin]
        return len(over), sum(url in kept for url in over)

    print(f"{len(factors)} pages with Resiliparse text, {len(kept)} documents kept by the full path; its first "
          "reasons: " + ", ".join(f"{reason} {count}" for reason, count in reasons.most_common(12)))
    print(f"margin = worst failure factor among the even pages' kept documents x {slack}; a rule is gated when "
          "its margin from pages 4k loses no kept document of pages 4k+2 and the reverse (both even), and it "
          "drops at least one even page")
    print(f"{'rule':28s} {'margin':>8s} {'even: dropped/kept lost':>24s} {'odd (held out)':>16s}  gated")
    margins = {}
    for name in next(iter(factors.values())):
        margin = worst(name, even)
        first, second = ([url for url in even if quarter[url] == q] for q in (0, 2))
        stable = dropped(name, worst(name, first), second)[1] == 0 and dropped(name, worst(name, second), first)[1] == 0
        on_even, on_odd = dropped(name, margin, even), dropped(name, margin, odd)
        gated = math.isfinite(margin) and stable and on_even[0] > 0
        if gated:
            margins[name] = round(margin, 3)
        print(f"{name:28s} {margin:8.3g} {on_even[0]:>17d}/{on_even[1]:<6d} {on_odd[0]:>9d}/{on_odd[1]:<6d}  "
              f"{'yes' if gated else 'no'}")
    for half, urls in (("even (tuned)", even), ("odd (held out)", odd)):
        over = {url for url in urls if any(factors[url][name] > margin for name, margin in margins.items())}
        half_kept = [url for url in urls if url in kept]
        print(f"gate on {half}: drops {len(over)} of {len(urls)} pages, {len(over & kept)} of the {len(half_kept)} "
              f"documents the full path keeps ({100 * len(over & kept) / max(1, len(half_kept)):.2f}%)")
    print(f"\nMARGINS = {margins}")


def gate_agreement(path: Path, pages: int, repeat: int) -> None:
    config = FilterConfig()
    results, seconds = {}, {"full path": [], "cascade": []}
    for _ in range(repeat):  # alternated, so that both see the same load
        for name, gate in (("full path", None), ("cascade", config)):
            results[name], taken = run(path, ExtractConfig(), gate)
            seconds[name].append(taken)
    print(f"{pages} real pages, all languages, quality gate with MARGINS {MARGINS}; "
          f"pages per CPU second (one core), best of {repeat} (min-max)")
    kept = {name: filter_kept(rows, config) for name, rows in results.items()}
    report_speed(pages, seconds, {name: len(urls) for name, urls in kept.items()})
    gated = {url: row for url, row in results["cascade"].items() if (row["reject_reason"] or "").startswith(PREFIX)}
    print(f"{len(gated)} pages never reached trafilatura (quality_prefilter)")
    for half, parity in (("even (tuned)", 0), ("odd (held out)", 1)):
        full_kept = {url for url in kept["full path"] if page_index(url) % 2 == parity}
        lost = sorted(full_kept - kept["cascade"], key=page_index)
        gained = {url for url in kept["cascade"] if page_index(url) % 2 == parity} - full_kept
        print(f"{half}: {len(full_kept) - len(lost)}/{len(full_kept)} documents the full path keeps are kept "
              f"({100 * (1 - len(lost) / max(1, len(full_kept))):.2f}%), {len(gained)} kept that it does not")
        for url in lost:
            print(f"  lost: {url} {results['cascade'][url]['reject_reason']} {results['cascade'][url]['reject_value']}")
    for name in QualityGate(config).names:
        dropped = [url for url, row in gated.items() if row["reject_reason"] == PREFIX + name]
        print(f"  {PREFIX + name:40s} dropped {len(dropped):4d}, of them kept by the full path "
              f"{sum(url in kept['full path'] for url in dropped)}")


def language_agreement(path: Path, pages: int, repeat: int, min_score: float) -> None:
    configs = {"full path": ExtractConfig(keep_languages=["en"], language_prefilter_min_score=None),
               "cascade": ExtractConfig(keep_languages=["en"], language_prefilter_min_score=min_score)}
    results, seconds = {}, {name: [] for name in configs}
    for _ in range(repeat):  # alternated, so that both see the same load
        for name, config in configs.items():
            results[name], taken = run(path, config)
            seconds[name].append(taken)
    print(f"{pages} real pages, keep_languages [en], pre-filter margin {min_score}; "
          f"pages per CPU second (one core), best of {repeat} (min-max)")
    report_speed(pages, seconds, {name: sum(row["reject_reason"] is None for row in rows.values())
                                  for name, rows in results.items()})
    full_kept = [url for url, row in results["full path"].items() if row["reject_reason"] is None]
    lost = [url for url in full_kept if results["cascade"][url]["reject_reason"] is not None]
    prefiltered = sum(row["reject_reason"] == "language_prefilter" for row in results["cascade"].values())
    print(f"agreement: {len(full_kept) - len(lost)}/{len(full_kept)} pages the full path keeps are kept "
          f"({100 * (1 - len(lost) / max(1, len(full_kept))):.2f}%); {prefiltered} pages never reached trafilatura")
    for url in lost:
        print(f"  lost: {url} {results['cascade'][url]['reject_value']}")


def report_speed(pages: int, seconds: dict[str, list[float]], kept: dict[str, int]) -> None:
    for name, taken in seconds.items():
        rates = [pages / s for s in taken]
        print(f"{name:10s} {max(rates):6.1f} pages/s ({min(rates):.1f}-{max(rates):.1f}), {kept[name]} kept")
    print(f"speed-up: {min(seconds['full path']) / min(seconds['cascade']):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--gate", action="store_true", help="the quality gate against the full path (default)")
    mode.add_argument("--language", action="store_true", help="the language pre-filter against the full path")
    mode.add_argument("--tune", action="store_true", help="measure the quality gate's margins")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--min-score", type=float, default=ExtractConfig().language_prefilter_min_score)
    parser.add_argument("--slack", type=float, default=1.1, help="--tune: margin = worst kept failure x this")
    parser.add_argument("--cache", type=Path, help="--tune: keep the measurements in this JSON file (reused)")
    parser.add_argument("--shared-data", type=Path,
                        default=Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data")))
    args = parser.parse_args()
    pages = real_pages(args.shared_data, 10**6, step=1)
    with tempfile.TemporaryDirectory(prefix="bench-cascade-") as work:
        path = write_warc(Path(work) / "pages.warc.gz", [
            Page(f"http://page.example/{i}", body,
                 warc_headers={"WARC-Identified-Payload-Type": "text/html"}) for i, (row, body) in enumerate(pages)])
        if args.tune:
            tune(path, FilterConfig(), args.slack, args.cache)
        elif args.language:
            language_agreement(path, len(pages), args.repeat, args.min_score)
        else:
            gate_agreement(path, len(pages), args.repeat)


if __name__ == "__main__":
    main()
