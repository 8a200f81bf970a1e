"""The extract cascade's language pre-filter: agreement with the full path and speed-up.

All real pages of ../shared/data/html (a language-mixed set: en 684, de 580, zh 124, ...) are
written as one Common Crawl-like WARC and extracted in this process twice with
`keep_languages: [en]`: the full path (`language_prefilter_min_score: null`: every page goes
through trafilatura and lid.176) and the cascade (the default pre-filter margin, or
`--min-score`). It prints pages per CPU second of each (one core, the best of `--repeat`
runs with the spread), the speed-up, and the agreement: the share of the pages the full path
keeps that the cascade keeps too (target >= 99.5%), listing any page lost.

    python -m bench.cascade [--repeat 2] [--min-score 0.9]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from dataflow.extract.langid import default_model_path
from dataflow.extract.records import ExtractConfig, extract_file
from tests.warc_builder import Page, real_pages, write_warc

REPO = Path(__file__).resolve().parents[1]


def run(path: Path, config: ExtractConfig) -> tuple[dict[str, tuple], float]:
    started = time.process_time()
    rows = [row for batch in extract_file(str(path), config, default_model_path()) for row in batch.to_pylist()]
    seconds = time.process_time() - started
    return {row["url"]: (row["reject_reason"], row["reject_value"]) for row in rows if row["url"]}, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--min-score", type=float, default=ExtractConfig().language_prefilter_min_score)
    parser.add_argument("--shared-data", type=Path,
                        default=Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data")))
    args = parser.parse_args()
    pages = real_pages(args.shared_data, 10**6, step=1)
    with tempfile.TemporaryDirectory(prefix="bench-cascade-") as work:
        path = write_warc(Path(work) / "pages.warc.gz", [
            Page(f"http://page.example/{i}", body,
                 warc_headers={"WARC-Identified-Payload-Type": "text/html"}) for i, (row, body) in enumerate(pages)])
        configs = {"full path": ExtractConfig(keep_languages=["en"], language_prefilter_min_score=None),
                   "cascade": ExtractConfig(keep_languages=["en"], language_prefilter_min_score=args.min_score)}
        results, seconds = {}, {name: [] for name in configs}
        for _ in range(args.repeat):  # alternated, so that both see the same load
            for name, config in configs.items():
                results[name], taken = run(path, config)
                seconds[name].append(taken)
    print(f"{len(pages)} real pages, keep_languages [en], pre-filter margin {args.min_score}; "
          f"pages per CPU second (one core), best of {args.repeat} (min-max)")
    for name in configs:
        rates = [len(pages) / s for s in seconds[name]]
        kept = sum(reason is None for reason, _ in results[name].values())
        print(f"{name:10s} {max(rates):6.1f} pages/s ({min(rates):.1f}-{max(rates):.1f}), {kept} pages kept")
    print(f"speed-up: {min(seconds['full path']) / min(seconds['cascade']):.2f}x")
    full_kept = [url for url, (reason, _) in results["full path"].items() if reason is None]
    lost = [url for url in full_kept if results["cascade"][url][0] is not None]
    prefiltered = sum(reason == "language_prefilter" for reason, _ in results["cascade"].values())
    print(f"agreement: {len(full_kept) - len(lost)}/{len(full_kept)} pages the full path keeps are kept "
          f"({100 * (1 - len(lost) / max(1, len(full_kept))):.2f}%); {prefiltered} pages never reached trafilatura")
    for url in lost:
        print(f"  lost: {url} {results['cascade'][url][1]}")


if __name__ == "__main__":
    main()
