"""Does the pipeline's filtering train a better model? Proxies on raw vs filtered vs deduplicated vs
classifier-selected pages, at an equal token budget.

From the real pages of `../shared/data/html/` (two Common Crawl-like WARCs), with the project's jobs:

    (a) raw         `dataflow run extract`
    (b) +filters    `dataflow run filter` on (a)
    (c) +dedup      `dataflow run dedup` on (b)
    (d) +classifier `dataflow run classify --keep-top 0.5` on (c), with a fastText model trained by
                    `dataflow classifiers train` (positives WikiText-2 valid + the books, negatives the raw pages)

A clean slice (`--heldout-frac` of the pages that survive all of (d), chosen by a hash of the id)
is held out of every source and scored, with WikiText-2 *test*, in bits-per-byte. One BPE
tokenizer (`dataflow tokenizer train`) on all of it; each source is tokenised with
`dataflow run tokenize` and trained alone (a one-source mixture) for `--proxy-tokens` tokens with
`--seeds` seeds, as runs of the search's store on the local backend (`trainer/search/searches/sweep.py`).
Prints mean ± std over seeds and each source's epochs at the budget: a smaller source is
repeated more, which the table makes visible rather than hiding.

    python -m bench.quality_ablation [--work DIR] [--proxy-tokens 200000] [--seeds 3] [--workers 2]
    # full run: --proxy-tokens 2000000 --preset gpt-1m --seeds 5

Sources are built once into `--work` and reused; proxies already run there are not run again.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from bench.extract import build_warcs
from bench.search import SHARED, as_docs, book_chunks, wiki_sections
from dataflow.inspect.run import run_report
from bench.common.real_pages import write_documents
from trainer.guard import GuardConfig

STAGES = {"raw": "docs", "filtered": "filtered", "deduped": "deduped", "classified": "classified"}
"""Token source name -> the stage output folder it is made from."""
COLUMNS = ["id", "url", "language", "text"]


def build_stages(work: Path) -> None:
    """extract -> filter -> dedup -> classify (top half), each skipped when its output is complete."""
    from classifiers import train as classifier_train
    from jobs import classify, dedup, extract
    from jobs import filter as filter_job

    if not (work / "docs" / "_SUCCESS").is_file():
        (work / "warc").mkdir(parents=True, exist_ok=True)
        build_warcs(work / "warc", 2, 0)
        extract.main(["--input", str(work / "warc" / "*.warc.gz"), "--output", str(work / "docs")])
    if not (work / "filtered" / "_SUCCESS").is_file():
        filter_job.main(["--input", str(work / "docs"), "--output", str(work / "filtered")])
    if not (work / "deduped" / "_SUCCESS").is_file():
        dedup.main(["--input", str(work / "filtered"), "--output", str(work / "deduped")])
    positives = {"wiki": as_docs(wiki_sections(SHARED / "text" / "wikitext-2" / "valid.txt.gz"), "wiki"),
                 "books": as_docs([chunk for book in sorted((SHARED / "text" / "books").glob("*.txt.gz"))
                                   for chunk in book_chunks(book)], "books")}
    model = work / "quality.bin"
    if not model.is_file():
        for name, rows in positives.items():
            write_documents(work / "positives" / name, rows, source=name)
        classifier_train.main(["--positive", str(work / "positives" / "wiki"), "--positive",
                               str(work / "positives" / "books"), "--negative", str(work / "docs"),
                               "--output", str(model)])
    if not (work / "classified" / "_SUCCESS").is_file():
        classify.main(["--input", str(work / "deduped"), "--output", str(work / "classified"), "--model", str(model),
                       "--keep-top", "0.5"])


def build_sources(work: Path, heldout_frac: float, vocab_size: int) -> dict[str, Path]:
    """Token sources (a)-(d) without the held-out clean slice, the slice itself and WikiText-2 test."""
    import pyarrow.parquet as pq
    import xxhash

    from jobs import tokenize_docs, train_tokenizer

    tokens = work / "tokens"
    names = [*STAGES, "clean-heldout", "wikitext-test"]
    if all((tokens / name / "_SUCCESS").is_file() for name in names):
        return {name: tokens / name for name in names}
    # Bench only: the pages are a few thousand rows, read here to split off the held-out slice by id.
    stage_rows = {name: pq.read_table(work / folder / "data", columns=COLUMNS).to_pylist()
                  for name, folder in STAGES.items()}
    held = {row["id"] for row in stage_rows["classified"]
            if xxhash.xxh64_intdigest(row["id"].encode("utf-8")) < heldout_frac * 2**64}
    documents = {name: [row for row in rows if row["id"] not in held] for name, rows in stage_rows.items()}
    documents["clean-heldout"] = [row for row in stage_rows["classified"] if row["id"] in held]
    documents["wikitext-test"] = as_docs(wiki_sections(SHARED / "text" / "wikitext-2" / "test.txt.gz"), "wikitext-test")
    for name, rows in documents.items():
        write_documents(work / "documents" / name, rows, source=name)
    tokenizer = work / "tokenizer.json"
    if not tokenizer.is_file():
        train_tokenizer.main(["--input", str(work / "documents" / "raw"), "--output", str(tokenizer),
                              "--vocab-size", str(vocab_size)])
    for name in names:
        held_out = name in ("clean-heldout", "wikitext-test")
        tokenize_docs.main(["--input", str(work / "documents" / name), "--output", str(tokens / name), "--source", name,
                            "--tokenizer", str(tokenizer),
                            # evaluation sets: nearly all of it in the validation split (tokenize refuses 0 train)
                            "--validation-frac", "0.99" if held_out else "0.05"])
    return {name: tokens / name for name in names}


def run_proxies(work: Path, sources: dict[str, Path], args: argparse.Namespace) -> list[dict]:
    from trainer.search.searches import sweep

    mixtures = {}
    for name in STAGES:
        path = work / "mixtures" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"name": name, "total_tokens": args.proxy_tokens, "sources": {
            name: {"path": str(sources[name]), "weight": 1.0, "max_epochs": 1000}}}))
        mixtures[name] = str(path)
    config = sweep.SweepConfig(
        name="quality-ablation", out_dir=str(proxies_folder(work, args)), mixture=mixtures["raw"], preset=args.preset,
        target={"wikitext-test": {"path": str(sources["wikitext-test"]), "weight": 1.0},
                "clean-heldout": {"path": str(sources["clean-heldout"]), "weight": 1.0}},
        # tiny's lr 3e-3 with 20 warmup steps diverged on raw pages (the guard's verdict): 1e-3, 50 steps, and
        # checkpoints the guard can roll back to
        train={"device": "cpu", "optim": {"lr": args.lr, "warmup_steps": 50}, "checkpoint": {"every_steps": 50},
               "eval": {"every_steps": 0, "num_sequences": 256}, "guard": {"max_z": args.guard_max_z}},
        sizes={args.preset: {}}, seeds=args.seeds, backend={"kind": "local", "workers": args.workers})
    store = sweep.start(config, resume=(proxies_folder(work, args) / "search.yaml").is_file())
    points = [sweep.point(config, args.preset, args.proxy_tokens, seed, f"{name}-s{seed}", labels=(name,),
                          mixture_path=mixtures[name]) for name in STAGES for seed in range(args.seeds)]
    sweep.run(store, config, points, "quality ablation proxies")
    return list(sweep.scores(store, config).values())


def proxies_folder(work: Path, args: argparse.Namespace) -> Path:
    """The proxies' search folder: one per guard setting, so a rerun with another `--guard-max-z`
    reuses the sources and keeps both sets of runs."""
    return work / ("proxies" if args.guard_max_z == GuardConfig().max_z else f"proxies-max-z-{args.guard_max_z:g}")


def guard_actions(run: Path) -> tuple[int, int]:
    """Updates the spike guard skipped and rollbacks it made in one proxy run (trainer/guard.py)."""
    summary = run_report(run).summary
    return summary["guard events"], summary["rollbacks"]


def report(rows: list[dict], sources: dict[str, Path], work: Path, args: argparse.Namespace) -> None:
    from dataflow.shards import open_split

    print(f"\nproxies: preset {args.preset}, {args.proxy_tokens:,} tokens each, {args.seeds} seeds; bits-per-byte, "
          "mean ± std over seeds (lower is better)")
    print(f"{'source':<12} {'train tokens':>12} {'epochs':>7} {'WikiText-2 test':>18} {'clean held-out':>18} "
          f"{'runs':>5} "
          f"{'guard skips':>11} {'rollbacks':>9}")
    for name in STAGES:
        mine = [row for row in rows if row["labels"] == name and row["status"] == "done"]
        available = open_split(sources[name], "train").num_tokens
        cells = []
        for column in ("bpb_wikitext-test", "bpb_clean-heldout"):
            values = [row[column] for row in mine]
            cells.append(f"{np.mean(values):.4f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.4f}"
                         if values else "-")
        actions = [guard_actions(proxies_folder(work, args) / "runs" / row["run"]) for row in mine]
        skips, rollbacks = sum(skipped for skipped, _ in actions), sum(rolled for _, rolled in actions)
        print(f"{name:<12} {available:>12,} {args.proxy_tokens / available:>7.2f} {cells[0]:>18} {cells[1]:>18} "
              f"{len(mine):>5} {skips:>11} {rollbacks:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="work folder (stages and sources are reused, proxies resumed)")
    parser.add_argument("--proxy-tokens", type=int, default=200_000, help="training tokens of every proxy")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of every proxy")
    parser.add_argument("--heldout-frac", type=float, default=0.1, help="share of (d)'s pages held out of every source")
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--guard-max-z", type=float, default=GuardConfig().max_z,
                        help="the spike guard's z-score limit for every proxy (trainer/guard.py); a large value lets "
                             "every finite update through, to see what the guard's skips change")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--master local[2] --driver-memory 3g pyspark-shell")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-quality-"))
    started = time.perf_counter()
    build_stages(work)
    sources = build_sources(work, args.heldout_frac, args.vocab_size)
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession():
        SparkSession.getActiveSession().stop()  # the JVM's memory back to the proxies
    prepared = time.perf_counter() - started
    rows = run_proxies(work, sources, args)
    report(rows, sources, work, args)
    print(f"\nwall: sources {prepared:.0f} s, proxies {time.perf_counter() - started - prepared:.0f} s; work folder "
          f"{work}")


if __name__ == "__main__":
    main()
