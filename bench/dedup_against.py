"""The cost of deduplicating a new crawl against an earlier one (`dedup --against`) 10x its size.

    python -m bench.dedup_against [--new 2000] [--ratio 10] [--overlap 0.2] [--cores 2] [--repeat 1]

Builds an earlier crawl of `ratio x new` documents and deduplicates it (its signatures/ are what
the check reads), then a new crawl of `new` documents of which `overlap` are copies or light edits
of earlier documents. The new crawl is deduplicated alone and with `--against` the earlier output,
alternately `--repeat` times, each a `dataflow run dedup` process (Spark local[cores]); it prints
CPU seconds of each process tree, the stage's own seconds, the check's own step time
(stats.json `extra.seconds.against_earlier`), and the documents found as earlier duplicates.
Documents are 300 words drawn from the sample generator's English sentences (dataflow/samples).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.extract import REPO
from bench.peak_memory import run_measured
from dataflow.samples.prose import all_sentences
from dataflow.schema import doc_schema

WORDS_PER_DOC = 300


def write_crawl(folder: Path, docs: list[dict], files: int = 4) -> None:
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(docs, schema=doc_schema())
    for i in range(files):
        pq.write_table(table.slice(i * len(docs) // files, (i + 1) * len(docs) // files - i * len(docs) // files),
                       folder / f"part-{i}.parquet")


def crawls(new: int, ratio: int, overlap: float, seed: int = 26) -> tuple[list[dict], list[dict]]:
    """(earlier, new) documents; `overlap` of the new ones copy an earlier one, half of those with 2% of words
    changed."""
    rng = random.Random(seed)
    words = sorted({word for sentence in all_sentences("en") for word in sentence.split()})
    earlier = [{"id": f"old/{i:07d}", "text": " ".join(rng.choices(words, k=WORDS_PER_DOC))}
               for i in range(new * ratio)]
    fresh = [{"id": f"new/{i:07d}", "text": " ".join(rng.choices(words, k=WORDS_PER_DOC))}
             for i in range(new - int(new * overlap))]
    shared = []
    for i, doc in enumerate(rng.sample(earlier, int(new * overlap))):
        tokens = doc["text"].split()
        if i % 2:
            for position in rng.sample(range(len(tokens)), len(tokens) // 50):
                tokens[position] = rng.choice(words)
        shared.append({"id": f"new/shared/{i:07d}", "text": " ".join(tokens)})
    return earlier, fresh + shared


def run_dedup(args: list[str], cores: int) -> dict:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": f"--master local[{cores}] pyspark-shell",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    measured = run_measured([str(Path(sys.executable).parent / "dataflow"), "run", "dedup", "--force", *args], env=env)
    stats = json.loads((Path(args[args.index("--output") + 1]) / "stats.json").read_text())
    return {"cpu_seconds": measured.cpu_seconds, "stage_seconds": stats["seconds"],
            "against_seconds": stats["extra"]["seconds"].get("against_earlier"),
            "earlier_duplicates": stats["extra"].get("earlier_duplicates"), "rows_in": stats["rows_in"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedup_against", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new", type=int, default=2000, help="documents in the new crawl")
    parser.add_argument("--ratio", type=int, default=10, help="earlier crawl size over the new one's")
    parser.add_argument("--overlap", type=float, default=0.2,
                        help="share of new documents taken from the earlier crawl")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-dedup-against-"))
    try:
        earlier, new = crawls(args.new, args.ratio, args.overlap)
        write_crawl(work / "earlier", earlier)
        write_crawl(work / "new", new)
        prior = run_dedup(["--input", str(work / "earlier"), "--output", str(work / "earlier-deduped")], args.cores)
        print(f"earlier crawl: {prior['rows_in']:,} documents deduplicated in {prior['cpu_seconds']:.1f} CPU s")
        for _ in range(args.repeat):
            alone = run_dedup(["--input", str(work / "new"), "--output", str(work / "alone")], args.cores)
            against = run_dedup(["--input", str(work / "new"), "--output", str(work / "against"),
                                 "--against", str(work / "earlier-deduped")], args.cores)
            print(f"new crawl {alone['rows_in']:,} documents: alone {alone['cpu_seconds']:.1f} CPU s "
                  f"({alone['stage_seconds']:.1f} s stage); against {len(earlier):,} earlier: "
                  f"{against['cpu_seconds']:.1f} CPU s ({against['stage_seconds']:.1f} s stage, check step "
                  f"{against['against_seconds']:.1f} s); {against['earlier_duplicates']:,} earlier duplicates found "
                  f"of {int(args.new * args.overlap):,} planted", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
