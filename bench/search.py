"""The data-constraint search on real text, and how busy the local backend keeps the machine.

Three token sources made with the project's own jobs from ../shared/data:

- web: the 1,695 real pages of `html/` in two Common Crawl-like WARCs, through
  `dataflow run extract`, `filter` and `dedup`;
- wiki: WikiText-2 *valid*, one document per section;
- books: the three books of `text/books/`, one document per ~3,000 characters of paragraphs;

a byte-level BPE trained on all of them (`dataflow tokenizer train`), `dataflow run tokenize`
per source, and the target, WikiText-2 *test*, tokenised apart (held out from every source; its
validation split, 99% of its documents, is scored on 256 fixed windows).
Then:

1. busy check: the first `--busy-runs` candidates of the search run on the local backend
   with `--workers` workers; it prints Σ run wall time / (elapsed × workers);
2. the search itself (`dataflow search mixture`; it resumes past the runs of step 1): the rest of
   the `--candidates`, the fit, the pick and the confirmation runs (`--confirm-seeds` each);
3. prints the pick, its target bits-per-byte against natural and uniform (mean ± std over
   seeds), the fit's cross-validated Spearman, and the wall times.

    python -m bench.search [--work DIR] [--candidates 32] [--proxy-tokens 600000] [--workers 2]
                           [--busy-runs 16] [--confirm-seeds 3] [--final-tokens 2500000]
                           [--transfer-tokens 400000 --transfer-train '{"model": {"d_model": 128}}']

Sources are built once into `--work` (default a temporary folder) and reused by later runs with
the same `--work`; a search already in that folder is resumed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.extract import build_warcs
from bench.common.real_pages import write_documents

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data"))
BOOK_CHUNK_CHARS = 3000


def wiki_sections(path: Path) -> list[str]:
    """WikiText-2 split at its `= Title =` and `= = Section = =` headings: one document per section."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    parts = re.split(r"\n \n (?== )", text)
    return [part.strip() for part in parts if len(part.strip()) > 200]


def book_chunks(path: Path) -> list[str]:
    """A book as documents of about BOOK_CHUNK_CHARS characters, cut at paragraph ends."""
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", f.read()) if p.strip()]
    chunks, current = [], ""
    for paragraph in paragraphs:
        current = f"{current}\n\n{paragraph}" if current else paragraph
        if len(current) >= BOOK_CHUNK_CHARS:
            chunks.append(current)
            current = ""
    return chunks + ([current] if current else [])


def as_docs(texts: list[str], prefix: str) -> list[dict]:
    return [{"id": f"{prefix}-{index:06d}", "url": None, "language": None, "text": text}
            for index, text in enumerate(texts)]


def build_sources(work: Path, vocab_size: int) -> dict[str, Path]:
    """Token source folders for web, wiki, books and the wikitext-test target (skipped when complete)."""
    import pyarrow.parquet as pq

    from jobs import dedup, extract, tokenize_docs, train_tokenizer
    from jobs import filter as filter_job

    tokens = work / "tokens"
    done = {name: tokens / name for name in ("web", "wiki", "books", "wikitext-test")}
    if all((folder / "_SUCCESS").is_file() for folder in done.values()):
        return done
    (work / "warc").mkdir(parents=True, exist_ok=True)
    if not any((work / "warc").glob("*.warc.gz")):
        build_warcs(work / "warc", 2, 0)
    extract.main(["--input", str(work / "warc" / "*.warc.gz"), "--output", str(work / "docs")])
    filter_job.main(["--input", str(work / "docs"), "--output", str(work / "filtered")])
    dedup.main(["--input", str(work / "filtered"), "--output", str(work / "deduped")])
    docs = {"wiki": as_docs(wiki_sections(SHARED / "text" / "wikitext-2" / "valid.txt.gz"), "wiki"),
            "books": as_docs([chunk for book in sorted((SHARED / "text" / "books").glob("*.txt.gz"))
                              for chunk in book_chunks(book)], "books"),
            "wikitext-test": as_docs(wiki_sections(SHARED / "text" / "wikitext-2" / "test.txt.gz"), "wikitext-test")}
    for name, rows in docs.items():
        write_documents(work / "documents" / name, rows, source=name)
    web_rows = pq.read_table(work / "deduped" / "data", columns=["id", "url", "language", "text"]).to_pylist()
    write_documents(work / "documents" / "all", web_rows + docs["wiki"] + docs["books"], source="all")
    tokenizer = work / "tokenizer.json"
    if not tokenizer.is_file():
        train_tokenizer.main(["--input", str(work / "documents" / "all"), "--output", str(tokenizer),
                              "--vocab-size", str(vocab_size)])
    inputs = {"web": work / "deduped", "wiki": work / "documents" / "wiki", "books": work / "documents" / "books",
              "wikitext-test": work / "documents" / "wikitext-test"}
    for name, folder in inputs.items():
        tokenize_docs.main(["--input", str(folder), "--output", str(done[name]), "--source", name,
                            "--tokenizer", str(tokenizer),
                            # the target: nearly all of it held out (tokenize refuses --validation-frac 0 today)
                            "--validation-frac", "0.99" if name == "wikitext-test" else "0.05"])
    return done


def search_config(work: Path, sources: dict[str, Path], args: argparse.Namespace) -> Path:
    config = {
        "name": "real", "out_dir": str(work / "search"),
        "sources": {"web": {"path": str(sources["web"]), "max_epochs": 1},
                    "wiki": {"path": str(sources["wiki"]), "max_epochs": 4},
                    "books": {"path": str(sources["books"]), "max_epochs": 4}},
        "target": {"wikitext-test": {"path": str(sources["wikitext-test"]), "weight": 1.0}},
        "final_run": {"total_tokens": args.final_tokens},
        "proxy": {"preset": "tiny", "total_tokens": args.proxy_tokens, "seeds": 1, "confirm_seeds": args.confirm_seeds,
                  "train": {"device": "cpu", "eval": {"every_steps": 0, "num_sequences": 256},
                            "checkpoint": {"every_steps": 500}}},
        "candidates": args.candidates, "prior": "natural",
        "backend": {"kind": "local", "workers": args.workers},
    }
    if args.transfer_tokens:
        config["transfer"] = {"preset": "tiny", "total_tokens": args.transfer_tokens,
                              "mixtures": args.transfer_mixtures, "seeds": 2,
                              "train": {"device": "cpu", "checkpoint": {"every_steps": 500},
                                        **json.loads(args.transfer_train)}}
    path = work / "search.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def busy_check(config, count: int) -> tuple[float, float, float]:
    """Run the search's first `count` candidates; return (elapsed, Σ run wall, utilisation)."""
    from trainer.search.engine import backends
    from trainer.search.engine.store import RunStore, read_state
    from trainer.search.searches.mixture import plan_candidates
    from trainer.search.searches.mixture_inputs import read_inputs

    inputs = read_inputs(config)
    store = RunStore(config.out_dir)
    folders = [store.add(spec) for spec in plan_candidates(config, inputs)[1][:count]]
    todo = store.unfinished(folders)
    started = time.perf_counter()
    backends.run_all(todo, config.backend, max_attempts=config.max_attempts, work_dir=store.root)
    elapsed = time.perf_counter() - started
    run_wall = sum(read_state(folder).wall_seconds for folder in todo)
    workers = config.backend.workers
    return elapsed, run_wall, run_wall / (elapsed * workers) if todo else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="work folder (sources are reused, the search resumed)")
    parser.add_argument("--candidates", type=int, default=32)
    parser.add_argument("--proxy-tokens", type=int, default=600_000, help="training tokens per proxy run")
    parser.add_argument("--final-tokens", type=int, default=2_500_000, help="final_run.total_tokens")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--busy-runs", type=int, default=16, help="candidates timed for the busy check (0: skip)")
    parser.add_argument("--confirm-seeds", type=int, default=3)
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--transfer-tokens", type=int, default=0,
                        help="rank-transfer check: tokens of each larger run (0: no check)")
    parser.add_argument("--transfer-mixtures", type=int, default=8, help="candidates the check trains again")
    parser.add_argument("--transfer-train", default="{}",
                        help='JSON laid over the larger runs\' preset, e.g. \'{"model": {"d_model": 128}}\'')
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--master local[2] --driver-memory 3g pyspark-shell")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-search-"))
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("trainer", "trainer.metrics", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    started = time.perf_counter()
    sources = build_sources(work, args.vocab_size)
    prepared = time.perf_counter() - started
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession():
        SparkSession.getActiveSession().stop()  # the JVM's memory back to the proxies
    from dataflow.shards import open_split

    sizes = {name: open_split(folder, "train").num_tokens for name, folder in sources.items()}
    print(f"sources ({prepared:.0f} s to build): " + ", ".join(f"{name} {count:,} train tokens"
                                                              for name, count in sizes.items()))

    from trainer.search.searches.mixture import run_mixture_search
    from trainer.search.searches.mixture_config import load_mixture_config

    config = load_mixture_config(search_config(work, sources, args))
    search_started = time.perf_counter()
    if args.busy_runs:
        elapsed, run_wall, busy = busy_check(config, args.busy_runs)
        print(f"busy check: {args.busy_runs} proxies on {args.workers} workers in {elapsed:.1f} s; Σ run wall "
              f"{run_wall:.1f} s = {100 * busy:.1f}% of elapsed × workers")
    summary = run_mixture_search(config, resume=True)
    search_wall = time.perf_counter() - search_started
    report(summary, search_wall, work)


def report(summary: dict, search_wall: float, work: Path) -> None:
    comparison = summary["comparison"]
    fit = summary["fit"]
    print(f"search: {summary['runs']['done']} runs done, {summary['runs']['failed']} failed, {search_wall:.0f} s wall "
          f"({search_wall / 60:.1f} min)")
    print(f"fit: chosen {fit['chosen']}; {fit['cross_validation']} " + "; ".join(
        f"{name} MAE {q['cv_mae']:.4f} Spearman {q['cv_spearman']:.3f}" for name, q in fit["models"].items()))
    print("pick: " + ", ".join(f"{name} {share:.3f}" for name, share in summary["pick"].items()))
    for label, entry in comparison.items():
        if "target" in entry:
            mean, std = entry["target"]
            print(f"  {label:<13} target (WikiText-2 test) {mean:.4f} ± {std:.4f} bits/byte over "
                  f"{entry['seeds']} seeds")
        else:
            print(f"  {label:<13} not run: {entry['skipped']}")
    for line in summary["verdicts"]:
        print(f"  {line}")
    print("epochs at the final budget: " + ", ".join(
        f"{name} {entry.get('epochs_predicted', float('nan')):.2f} (max {entry['max_epochs']:g})"
        for name, entry in summary["constraint"].items()))
    if "rank_transfer" in summary:
        check = summary["rank_transfer"]
        print(f"rank transfer ({check['proxy']['tokens']:,} vs {check['larger']['tokens']:,} tokens, "
              f"{check['seeds']} seeds): Spearman {check['spearman']}; pooled seed std {check['seed_std']}")
        for entry in check["mixtures"]:
            print(f"  {entry['mixture']}: proxy {entry['proxy']}, larger {entry['larger']}")
    print(f"search folder: {work / 'search'} (dataflow inspect {work / 'search'}); "
          f"summary: {json.dumps(summary['runs'])}")


if __name__ == "__main__":
    main()
