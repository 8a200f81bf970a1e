"""Benchmark decontamination: index build, docs/s per core, and datatrove side by side.

    python -m bench.decontaminate                       # all shared benchmarks, 1,695 real pages x 2 + planted passages
    python -m bench.decontaminate --copies 4 --spark    # also the Spark stage end to end (local[*])
    # an index over the broadcast limit: before/after
    python -m bench.decontaminate --before /tmp/dataflow-before --inflate 4

Documents are the real pages of ../shared/data/html (trafilatura output) repeated `--copies`
times, plus `--planted` pages each holding an excerpt (13-40 words) of a random benchmark
item with its case, whitespace, line breaks and punctuation changed (bench/common/planting.py). Both
tools index the same item text (all fields of each item joined) with 13-grams and drop a document on any
hit, one process each:

- ours: dataflow.decontaminate.decontaminate_batches over Arrow batches (the stage's
  mapInArrow body), action `drop`, defaults otherwise (floor 8 for short items, n-grams in
  more than 10 items or mostly numbers ignored);
- datatrove 0.10.1: NGramsDecontFilter with n_grams=13 on an index written by its
  indexer's compute_hashes (bench/decontaminate_datatrove.py, in its own venv). It has no
  floor (items under 13 words give no n-gram), no common n-gram filter, spaCy word tokens,
  and folds diacritics; its index is a Python dict loaded per process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from dataflow.decontaminate.benchmarks import load_items, load_registry, resolve_benchmarks
from dataflow.decontaminate.batches import DecontaminateConfig, decontaminate_batches, output_schema
from dataflow.decontaminate.ngram_index import build_index
from bench.peers import datatrove_python
from dataflow.schema import doc_schema
from bench.common.planting import excerpt, perturb, plant
from bench.common.real_pages import load_pages

REPO = Path(__file__).resolve().parents[1]

SHARED = REPO.parent / "shared" / "data"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-data", type=Path, default=Path(os.environ.get("DATAFLOW_SHARED_DATA", SHARED)))
    parser.add_argument("--copies", type=int, default=2, help="times the real pages are repeated")
    parser.add_argument("--planted", type=int, default=300, help="pages with a planted benchmark passage")
    parser.add_argument("--spark", action="store_true", help="also run the Spark stage end to end")
    scale = parser.add_argument_group("index over the broadcast limit (instead of the comparison with datatrove)")
    scale.add_argument("--before", type=Path, help="a checkout of the code before the change "
                                                   "(mkdir DIR && git archive c400212 | tar -x -C DIR)")
    scale.add_argument("--inflate", type=int, default=4,
                       help="copies of every benchmark item (copy k > 0: each word suffixed, so its n-grams are new)")
    scale.add_argument("--max-broadcast-bytes", type=int, default=64 * 2**20, help="the stage's broadcast limit")
    scale.add_argument("--repeats", type=int, default=3, help="runs of each version, alternating")
    scale.add_argument("--driver-memory", default="4g", help="Spark driver memory (local mode: the executor too)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    specs = resolve_benchmarks(["all"], load_registry([], str(args.shared_data / "benchmarks")))
    benchmarks = {spec.name: list(load_items(spec)) for spec in specs}
    if args.before:
        return over_the_limit(args, benchmarks)
    process = psutil.Process()
    rss, started = process.memory_info().rss, time.time()
    index = build_index(benchmarks)
    build = {"seconds": time.time() - started, "rss_mib": (process.memory_info().rss - rss) / 2**20}
    docs, planted = documents(args.shared_data, benchmarks, args.copies, args.planted)
    print(f"{len(benchmarks)} benchmarks, {sum(map(len, benchmarks.values())):,} items; "
          f"{len(docs):,} documents ({len(docs) - len(planted):,} real pages, {len(planted)} planted)")
    ours = run_ours(docs, index)
    peer = run_datatrove(args, benchmarks, docs)
    report(index, build, ours, peer, docs, planted)
    if args.spark:
        run_spark(args, docs)


def documents(shared: Path, benchmarks: dict, copies: int, count: int) -> tuple[list[dict], dict[str, str]]:
    """Real pages repeated `copies` times, plus `count` pages with a planted benchmark excerpt
    (returned as planted document id -> `benchmark:item`)."""
    pages = [page for page in load_pages(shared) if page["text"]]
    docs = [{"id": f"{page['id']}#{copy}", "text": page["text"]} for copy in range(copies) for page in pages]
    rng, planted = random.Random(7), {}
    names = sorted(benchmarks)
    while len(planted) < count:
        name = rng.choice(names)
        item = rng.choice(benchmarks[name])
        passage = excerpt(item, rng)
        if passage is not None:
            doc_id = f"planted-{len(planted)}"
            docs.append({"id": doc_id, "text": plant(rng.choice(pages)["text"], perturb(passage, rng), rng)[0]})
            planted[doc_id] = f"{name}:{item.id}"
    return docs, planted


def run_ours(docs: list[dict], index) -> dict:
    batches = [pa.RecordBatch.from_pylist(docs[i:i + 256], schema=doc_schema()) for i in range(0, len(docs), 256)]
    config = DecontaminateConfig(action="drop")
    schema = output_schema(batches[0].schema)
    started = time.time()
    flagged = [row["id"] for batch in decontaminate_batches(batches, index, config, schema)
               for row in batch.select(["id", "reject_reason"]).to_pylist() if row["reject_reason"]]
    return {"seconds": time.time() - started, "flagged": flagged}


def run_datatrove(args, benchmarks: dict, docs: list[dict]) -> dict:
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        with open(work / "items.jsonl", "w", encoding="utf-8") as out:
            for name, items in benchmarks.items():
                for item in items:
                    out.write(json.dumps({"benchmark": name, "id": item.id, "text": "\n".join(item.texts)}) + "\n")
        with open(work / "docs.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps(doc) + "\n" for doc in docs)
        subprocess.run([datatrove_python(), str(REPO / "bench" / "decontaminate_datatrove.py"),
                        "--items", str(work / "items.jsonl"), "--docs", str(work / "docs.jsonl"), "--ngram", "13",
                        "--workdir", str(work / "index"), "--out", str(work / "result.json")],
                       check=True, capture_output=True)
        return json.loads((work / "result.json").read_text())


def report(index, build: dict, ours: dict, peer: dict, docs: list[dict], planted: dict[str, str]) -> None:
    def planted_found(flagged):
        missed = sorted(planted[doc_id] for doc_id in set(planted) - set(flagged))
        return f"{len(planted) - len(missed)}/{len(planted)}" + (f" (missed {', '.join(missed)})" if missed else "")

    def real_flagged(flagged):
        real = set(flagged) - set(planted)
        return f"{len(real)} ({', '.join(sorted({doc_id.split('#')[0] for doc_id in real})) or 'none'})"

    rows = [
        ("index entries", f"{index.stats['entries']:,}", f"{peer['hashes']:,}"),
        ("index size", f"{index.nbytes / 2**20:.1f} MiB (arrays)",
         f"{peer['index_file_bytes'] / 2**20:.1f} MiB (files)"),
        ("index build", f"{build['seconds']:.1f} s", f"{peer['build_seconds']:.1f} s"),
        ("index memory", f"{build['rss_mib']:.0f} MiB RSS growth", f"{peer['index_rss_bytes'] / 2**20:.0f} MiB RSS "
                                                                    f"(dict, loaded in {peer['load_seconds']:.1f} s)"),
        ("docs/s per core", f"{len(docs) / ours['seconds']:.0f}", f"{peer['documents'] / peer['filter_seconds']:.0f}"),
        ("planted found", planted_found(ours["flagged"]), planted_found(peer["flagged"])),
        ("real pages flagged", real_flagged(ours["flagged"]), real_flagged(peer["flagged"])),
    ]
    print(f"\n{'':<20}dataflow")
    for name, mine, theirs in rows:
        print(f"{name:<20}{mine}\n{'':<20}datatrove 0.10.1: {theirs}")


def run_spark(args, docs: list[dict]) -> None:
    from jobs import decontaminate
    from jobs.common.spark import get_spark

    with tempfile.TemporaryDirectory() as work:
        cores = get_spark("bench-decontaminate").sparkContext.defaultParallelism
        os.makedirs(f"{work}/docs")
        table = pa.Table.from_pylist(docs, schema=doc_schema())
        parts = 4 * cores  # a task per part file: as an upstream stage writes them
        for part in range(parts):
            first, end = part * len(docs) // parts, (part + 1) * len(docs) // parts
            pq.write_table(table.slice(first, end - first), f"{work}/docs/part-{part}.parquet")
        started = time.time()
        decontaminate.main(["--input", f"{work}/docs", "--output", f"{work}/out", "--benchmark", "all", "--action",
                            "drop",
                            "--benchmarks-dir", str(args.shared_data / "benchmarks")])
        seconds = time.time() - started
        stats = json.loads(Path(f"{work}/out/stats.json").read_text())
    print(f"\nSpark stage (local, {cores} cores, index build and report included): {seconds:.1f} s, "
          f"{stats['rows_in'] / seconds:.0f} docs/s, {stats['rows_in'] / seconds / cores:.0f} docs/s per core; "
          f"rejected {stats['rejected_by_reason']}")


def over_the_limit(args, benchmarks: dict) -> None:
    """The Spark stage (action drop) from `--before` and from this checkout, in turns, with every
    item of the shared benchmarks written `--inflate` times (`--inflate` JSONL files, one
    benchmark), so that the index exceeds `--max-broadcast-bytes` and is joined, not broadcast."""
    from bench.before_after import alternate, print_sides, run_job

    cores = 2
    with tempfile.TemporaryDirectory() as work:
        for copy in range(args.inflate):
            suffix = "" if copy == 0 else "q" + "".join(chr(ord("a") + int(d)) for d in str(copy))
            with open(f"{work}/inflated-{copy:03d}.jsonl", "w", encoding="utf-8") as out:
                for items in benchmarks.values():
                    for item in items:
                        text = "\n".join(item.texts)
                        out.write(json.dumps({"text": re.sub(r"\w+", lambda m: m.group(0) + suffix, text)}) + "\n")
        docs, planted = documents(args.shared_data, benchmarks, args.copies, args.planted)
        os.makedirs(f"{work}/docs")
        table = pa.Table.from_pylist(docs, schema=doc_schema())
        for part in range(4 * cores):
            first, end = part * len(docs) // (4 * cores), (part + 1) * len(docs) // (4 * cores)
            pq.write_table(table.slice(first, end - first), f"{work}/docs/part-{part}.parquet")
        items = sum(map(len, benchmarks.values())) * args.inflate
        print(f"{items:,} benchmark items ({args.inflate} copies of the {len(benchmarks)} shared sets) in "
              f"{args.inflate} files; {len(docs):,} documents ({len(planted)} planted); max-broadcast-bytes "
              f"{args.max_broadcast_bytes:,}; local[{cores}], driver memory {args.driver_memory}; "
              f"{args.repeats} runs each, alternating")
        outputs: dict[str, dict] = {}

        def run(label: str, code: Path):
            output = Path(work) / label
            measured = run_job(code, "decontaminate", [
                "--input", f"{work}/docs", "--output", str(output), "--force", "--action", "drop",
                "--benchmark", f"inflated={work}/inflated-*.jsonl:text",
                "--max-broadcast-bytes", str(args.max_broadcast_bytes)], cores, args.driver_memory)
            report = json.loads((output / "contamination.json").read_text())
            index = report["index"]
            outputs[label] = {"rejected": sorted(pq.read_table(output / "rejected",
                                                               columns=["id"]).column("id").to_pylist()),
                              "benchmarks": report["benchmarks"],
                              "index": {k: v for k, v in index.items() if k != "build_seconds"}}
            return measured, index["build_seconds"]

        results = alternate(args.before, args.repeats, run)
    index = outputs["after"]["index"]
    print(f"index: {index['entries']:,} entries, {index['bytes'] / 2**20:.0f} MiB (over the limit: joined)")
    print_sides(args.before, results, "index built in")
    same = outputs["before"] == outputs["after"]
    print(f"same result: {'yes' if same else 'NO'} ({len(outputs['after']['rejected'])} documents dropped, "
          f"identical contamination.json apart from build_seconds)")


if __name__ == "__main__":
    main()
