"""Dedup benchmarks: signature speed, accuracy against brute-force Jaccard, and crawl-scale runs.

    python -m bench.dedup speed                 # signatures/s per core: ours vs datasketch; whole stage; core-h/TB
    python -m bench.dedup accuracy              # precision/recall vs exact Jaccard; ours vs datasketch MinHashLSH
    python -m bench.dedup scale --docs 1000000  # synthetic corpus with planted families: time per step, peak memory
    python -m bench.dedup clusters --before /tmp/dataflow-before   # huge clusters: verification before/after

Per-core figures use CPU time of this process (`time.process_time`) for single-process code,
so that other jobs on a shared machine do not skew the comparison; Spark figures are wall time
on local[2] divided by 2 cores. Peers run in the same process, on the same documents.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.before_after import PeakMemory, alternate, gib, print_sides, run_job
from dataflow.dedup.batches import DedupConfig
from dataflow.dedup.minhash import MinHasher, band_keys, shingle_hash, shingles
from dataflow.schema import doc_schema
from bench.common.union_find import union_find_components  # (the reference)
from bench.common.real_pages import load_pages
from bench.common.text_edits import near_duplicate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CORES = 2


# --- corpora ------------------------------------------------------------------------------


def real_pages(data: Path) -> list[dict]:
    return [page for page in load_pages(data) if page["text"]]


def with_variants(pages: list[dict], count: int, seed: int, max_share: tuple[float, float]) -> list[dict]:
    """`pages` plus `count` edited copies of random pages, edits of varied kind and strength."""
    rng = random.Random(seed)
    docs = [{"id": page["id"], "text": page["text"]} for page in pages]
    for n in range(count):
        page = rng.choice(pages)
        text, edits = near_duplicate(page["text"], rng, rng.uniform(*max_share), rng.randint(1, 3))
        docs.append({"id": f"{page['id']}#v{n}", "text": text, "edits": ",".join(edits)})
    return docs


def write_parquet(docs: list[dict], folder: Path, files: int = 4 * CORES) -> None:
    """`docs` as `files` Parquet files, so that Spark reads them with every core."""
    folder.mkdir(parents=True, exist_ok=True)
    schema = doc_schema()
    rows_per_file = -(-len(docs) // files)
    for start in range(0, len(docs), rows_per_file):
        part = [{"id": d["id"], "text": d["text"], "url": d.get("url")} for d in docs[start:start + rows_per_file]]
        pq.write_table(pa.Table.from_pylist(part, schema=schema), folder / f"part-{start // rows_per_file:05d}.parquet")


# --- running the stage ------------------------------------------------------------------------


def spark_session(driver_memory: str):
    """The session `dataflow run` makes (jobs/common/spark.py), on local[2] with `driver_memory`."""
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--master local[{CORES}] --driver-memory {driver_memory} pyspark-shell"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                             os.environ.get("PYTHONPATH")]))
    from jobs.common.spark import get_spark

    session = get_spark("bench-dedup")
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_stage(input_dir: Path, output_dir: Path, *flags: str) -> dict:
    from jobs import dedup

    assert dedup.main(["--input", str(input_dir), "--output", str(output_dir), "--force", *flags]) == 0
    return json.loads((output_dir / "stats.json").read_text())


# --- speed ------------------------------------------------------------------------------------


def cpu_seconds(work, repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = work()
        best = min(best, time.process_time() - start)
    return best, result


def datasketch_batch(texts: list[str], hasher: MinHasher) -> list[np.ndarray]:
    from datasketch import MinHash

    out = []
    for text in texts:
        minhash = MinHash(num_perm=hasher.num_perm, seed=hasher.seed, scheme=hasher.scheme, hashfunc=shingle_hash)
        minhash.update_batch(shingles(text, hasher.ngram))
        out.append(minhash.hashvalues)
    return out


def datasketch_loop(texts: list[str], hasher: MinHasher) -> list[np.ndarray]:
    from datasketch import MinHash

    out = []
    for text in texts:
        minhash = MinHash(num_perm=hasher.num_perm, seed=hasher.seed, scheme=hasher.scheme, hashfunc=shingle_hash)
        for shingle in shingles(text, hasher.ngram):
            minhash.update(shingle)
        out.append(minhash.hashvalues)
    return out


def datasketch_sha1(texts: list[str], hasher: MinHasher) -> list[np.ndarray]:
    """datasketch as usually written: shingle strings, its default SHA-1 hash (other values)."""
    from datasketch import MinHash

    out = []
    for text in texts:
        minhash = MinHash(num_perm=hasher.num_perm, seed=hasher.seed, scheme=hasher.scheme)
        minhash.update_batch([" ".join(shingle).encode() for shingle in shingles(text, hasher.ngram)])
        out.append(minhash.hashvalues)
    return out


def speed(args) -> None:
    pages = real_pages(args.data)
    texts = [page["text"] for page in pages]
    text_bytes = sum(len(text.encode()) for text in texts)
    hasher = MinHasher(scheme=args.scheme)
    print(f"{len(texts)} real pages, {text_bytes / len(texts) / 1024:.1f} KiB and "
          f"{np.mean([len(t.split()) for t in texts]):.0f} words per page; num_perm={hasher.num_perm}, "
          f"scheme={hasher.scheme}")
    hasher.signatures(texts[:10])  # warm the lookup table and permutations
    ours_s, (ours, _) = cpu_seconds(lambda: hasher.signatures(texts), repeat=3)
    sample = random.Random(1).sample(range(len(texts)), args.docs)
    batch_texts, loop_texts = [texts[i] for i in sample], [texts[i] for i in sample[:args.docs // 4]]
    batch_s, theirs_batch = cpu_seconds(lambda: datasketch_batch(batch_texts, hasher))
    loop_s, theirs_loop = cpu_seconds(lambda: datasketch_loop(loop_texts, hasher))
    sha1_s, _ = cpu_seconds(lambda: datasketch_sha1(batch_texts, hasher))
    assert all(np.array_equal(ours[i], sig) for i, sig in zip(sample, theirs_batch))
    assert all(np.array_equal(ours[i], sig) for i, sig in zip(sample, theirs_loop))
    rate = len(texts) / ours_s
    rows = [("ours: vectorised numpy over batches", len(texts), rate, "identical"),
            ("datasketch update_batch (same hashfunc)", len(batch_texts), len(batch_texts) / batch_s, "identical"),
            ("datasketch update per shingle (same hashfunc)", len(loop_texts), len(loop_texts) / loop_s, "identical"),
            ("datasketch update_batch, default sha1 on strings", len(batch_texts), len(batch_texts) / sha1_s,
             "other hash")]
    print(f"\n{'signatures, one core':50} {'docs':>6} {'docs/s':>9} {'ours is':>8}  output")
    for name, docs, per_second, output in rows:
        print(f"{name:50} {docs:6d} {per_second:9.1f} {rate / per_second:7.1f}x  {output}")
    print(f"signature core-hours per TB of text: {1e12 / (text_bytes / ours_s) / 3600:.1f}")
    whole_stage(args, pages)


def whole_stage(args, pages: list[dict]) -> None:
    docs = with_variants(pages, args.stage_variants, seed=2, max_share=(0.005, 0.1))
    text_bytes = sum(len(doc["text"].encode()) for doc in docs)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        write_parquet(docs, Path(tmp) / "docs")
        spark_session(args.driver_memory)
        stats = run_stage(Path(tmp) / "docs", Path(tmp) / "out")
    seconds = stats["seconds"]
    print(f"\nwhole dedup stage, local[{CORES}], {len(docs)} docs ({text_bytes / 2**20:.0f} MiB): {seconds:.1f} s, "
          f"{len(docs) / seconds / CORES:.1f} docs/s per core, {text_bytes / seconds / CORES / 2**20:.2f} MiB/s per "
          "core")
    print(f"  steps: {stats['extra']['seconds']}; rows out {stats['rows_out']}, removed {stats['rejected_by_reason']}")
    print(f"  core-hours per TB of text: {1e12 / (text_bytes / seconds / CORES) / 3600:.0f} "
          f"(data-juicer on Ray: ~717 for the same job)")


# --- accuracy ---------------------------------------------------------------------------------


def exact_pairs(docs: list[dict], ngram: int, threshold: float) -> dict[tuple[int, int], float]:
    """Brute force: every pair's exact Jaccard over shingle tuples, via a sparse doc x shingle product."""
    from scipy import sparse

    vocabulary: dict[tuple[str, ...], int] = {}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        ids = {vocabulary.setdefault(shingle, len(vocabulary)) for shingle in shingles(doc["text"], ngram)}
        rows += [i] * len(ids)
        cols += ids
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(docs), len(vocabulary)))
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    shared = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    jaccard = shared.data / (sizes[shared.row] + sizes[shared.col] - shared.data)
    keep = jaccard >= threshold
    return {(int(a), int(b)): float(j) for a, b, j in zip(shared.row[keep], shared.col[keep], jaccard[keep])}


def scores(found: set, truth: set) -> str:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    return f"precision {precision:.4f}  recall {hits / len(truth):.4f}  ({len(found)} pairs, {hits} true)"


def closure(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Every pair within a connected component of `pairs`: what clustering (FineWeb, text-dedup,
    ours) asserts, since a~b and b~c put a and c in one cluster whatever J(a, c) is."""
    components: dict[int, list[int]] = {}
    for node, root in union_find_components(list(pairs)).items():
        components.setdefault(root, []).append(node)
    return {tuple(sorted(pair)) for members in components.values() for pair in itertools.combinations(members, 2)}


def cluster_pairs(output: Path, index: dict[str, int]) -> set[tuple[int, int]]:
    rows = pq.read_table(output / "data", columns=["id", "dup_cluster"]).to_pylist()
    rows += pq.read_table(output / "rejected", columns=["id", "dup_cluster"]).to_pylist()
    clusters: dict[str, list[int]] = {}
    for row in rows:
        if row["dup_cluster"] is not None:
            clusters.setdefault(row["dup_cluster"], []).append(index[row["id"]])
    return {tuple(sorted(pair)) for members in clusters.values() for pair in itertools.combinations(members, 2)}


def accuracy(args) -> None:
    from datasketch import MinHash, MinHashLSH

    config = DedupConfig()
    bands, rows = config.lsh_params()
    pages = real_pages(args.data)
    docs = with_variants(pages, args.variants, seed=3, max_share=(0.005, 0.2))
    index = {doc["id"]: i for i, doc in enumerate(docs)}
    truth_j = exact_pairs(docs, config.ngram, config.threshold)
    truth = set(truth_j)
    print(f"{len(pages)} real pages + {args.variants} edited copies = {len(docs)} docs; {len(truth)} pairs with "
          f"exact Jaccard >= {config.threshold} (brute force over all {len(docs) * (len(docs) - 1) // 2} pairs); "
          f"LSH {bands} bands x {rows} rows")
    hasher = config.hasher
    signatures, has_shingles = hasher.signatures([doc["text"] for doc in docs])
    keys = band_keys(signatures, bands, rows)
    buckets: dict[int, list[int]] = {}
    for i in np.flatnonzero(has_shingles):
        for key in keys[i]:
            buckets.setdefault(int(key), []).append(int(i))
    ours_candidates = {pair for members in buckets.values() for pair in itertools.combinations(members, 2)}
    lsh = MinHashLSH(threshold=config.threshold, num_perm=hasher.num_perm,
                     weights=(config.false_positive_weight, config.false_negative_weight))
    assert (lsh.b, lsh.r) == (bands, rows)
    theirs = datasketch_batch([doc["text"] for doc in docs], hasher)
    for i in np.flatnonzero(has_shingles):
        lsh.insert(int(i), MinHash(hashvalues=theirs[i], seed=hasher.seed, scheme=hasher.scheme))
    theirs_candidates = {tuple(sorted((int(i), j))) for i in np.flatnonzero(has_shingles)
                         for j in lsh.query(MinHash(hashvalues=theirs[i], seed=hasher.seed, scheme=hasher.scheme))
                         if i != j}
    sets = [frozenset(shingles(doc["text"], config.ngram)) for doc in docs]
    verified = {(a, b) for a, b in theirs_candidates
                if len(sets[a] & sets[b]) >= config.threshold * len(sets[a] | sets[b])}
    print(f"\n{'found pairs':58} score")
    print(f"{'datasketch MinHashLSH candidates':58} {scores(theirs_candidates, truth)}")
    print(f"{'datasketch MinHashLSH candidates + exact verification':58} {scores(verified, truth)}")
    print(f"{'ours: LSH candidates (band keys)':58} {scores(ours_candidates, truth)}"
          f"{'  = datasketch' if ours_candidates == theirs_candidates else '  DIFFERS'}")
    found = {}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        write_parquet(docs, Path(tmp) / "docs")
        spark_session(args.driver_memory)
        transitive = closure(truth)
        for verify in (True, False):
            out = Path(tmp) / f"out-{verify}"
            stats = run_stage(Path(tmp) / "docs", out, "--verify" if verify else "--no-verify")
            found[verify] = cluster_pairs(out, index)
            name = f"ours: stage clusters, verification {'on' if verify else 'off'}"
            print(f"{name:58} {scores(found[verify], truth)}")
            print(f"{'  against the transitive truth (same J >= t component)':58} {scores(found[verify], transitive)}")
            print(f"{'':58} removed {stats['rejected_by_reason']}, {stats['extra']['clusters']} clusters")
    known = [json.loads(line) for line in open(args.data / "html" / "near_duplicates.jsonl", encoding="utf-8")]
    pairs = [tuple(sorted((index[p["a"]], index[p["b"]]))) for p in known if p["a"] in index and p["b"] in index]
    similar = [pair for pair in pairs if pair in truth]
    print(f"\nhtml/near_duplicates.jsonl: {len(similar)} of its {len(known)} real pairs have J >= {config.threshold} "
          f"here; the stage (verification on) puts {sum(pair in found[True] for pair in similar)} of them in one "
          "cluster")


# --- scale ------------------------------------------------------------------------------------


def synthetic_corpus(count: int, folder: Path, seed: int) -> dict:
    """`count` documents of Zipf-distributed pseudo-words in sentences and paragraphs (~1.7 KB);
    5% start a near-duplicate family (1-4 copies with one edit of up to 2%), 2% get an exact
    copy (upper-cased), written as Parquet files of about 50,000 rows."""
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    syllables = [a + b for a in "bcdfghjklmnprstvz" for b in "aeiou"]
    vocabulary = np.array(sorted({"".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(60_000)}),
                          dtype=object)
    rng.shuffle(vocabulary)
    zipf = np.cumsum(1 / np.arange(1, vocabulary.size + 1) ** 1.05)
    zipf /= zipf[-1]
    folder.mkdir(parents=True, exist_ok=True)
    planted = written = part = 0
    while written < count:
        lengths = (np_rng.lognormal(5.2, 0.5, size=10_000) + 20).astype(int)
        words = vocabulary[np.searchsorted(zipf, np_rng.random(lengths.sum()))].tolist()
        batch, offset = [], 0
        for length in lengths.tolist():
            doc = words[offset:offset + length]
            offset += length
            sentences = [" ".join(doc[i:i + 14]) + "." for i in range(0, length, 14)]
            text = "\n".join(" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5))
            family, roll = f"f{written:08d}", rng.random()
            batch.append({"id": f"{family}-0", "text": text})
            copies = rng.randint(1, 4) if roll < 0.05 else 1 if roll < 0.07 else 0
            for copy in range(1, copies + 1):
                batch.append({"id": f"{family}-{copy}",
                              "text": near_duplicate(text, rng, 0.02, 1)[0] if roll < 0.05 else text.upper()})
            planted, written = planted + copies, written + 1 + copies
            if written >= count:
                break
        for start in range(0, len(batch), 50_000):
            pq.write_table(pa.Table.from_pylist(batch[start:start + 50_000], schema=doc_schema()),
                           folder / f"part-{part:05d}.parquet")
            part += 1
    return {"docs": written, "planted_copies": planted}


def scale(args) -> None:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        started = time.time()
        corpus = synthetic_corpus(args.docs, Path(tmp) / "docs", seed=4)
        size = sum(f.stat().st_size for f in (Path(tmp) / "docs").iterdir())
        print(f"generated {corpus['docs']} docs ({corpus['planted_copies']} planted copies), "
              f"{size / 2**20:.0f} MiB Parquet, in {time.time() - started:.0f} s")
        spark_session(args.driver_memory)
        with PeakMemory() as memory:
            started = time.time()
            stats = run_stage(Path(tmp) / "docs", Path(tmp) / "out")
            wall = time.time() - started
        out = Path(tmp) / "out"
        rejected = pq.read_table(out / "rejected", columns=["id", "reject_value"]).to_pylist()
    families_ok = sum(row["id"].split("-")[0] == row["reject_value"].split("-")[0] for row in rejected)
    print(f"dedup stage, local[{CORES}], driver memory {args.driver_memory}: {stats['seconds']:.0f} s "
          f"({wall:.0f} s with session work), {corpus['docs'] / stats['seconds'] / CORES:.0f} docs/s per core")
    print(f"  seconds per step: {stats['extra']['seconds']}, writing and counting: "
          f"{stats['seconds'] - sum(stats['extra']['seconds'].values()):.0f}")
    print(f"  removed {stats['rejected_by_reason']} of {stats['rows_in']}; planted copies {corpus['planted_copies']}; "
          f"removed rows naming a row of their own family: {families_ok} of {len(rejected)}")
    print(f"  clusters {stats['extra']['clusters']}, sizes {stats['extra']['cluster_size_histogram']}, "
          f"candidate pairs {stats['extra']['candidate_pairs']}, verified {stats['extra'].get('verified_pairs')}, "
          f"component rounds {stats['extra']['component_rounds']}")
    print(f"  peak resident memory: all processes {gib(memory.total)}, JVM {gib(memory.jvm)}, "
          f"largest Python worker {gib(memory.worker)}")


# --- large clusters: verification before and after the star-partitioned Jaccard ----------------


def clusters(args) -> None:
    """Real pages plus `--families` families of `--copies` near-copies (one edit of up to 1%)
    of the longest English pages under 64,000 characters; the dedup stage from `--before` and
    from this checkout in turns."""
    pages = real_pages(args.data)
    longest = sorted((page for page in pages if page["language"] == "en" and len(page["text"]) < 64_000),
                     key=lambda page: -len(page["text"]))[:args.families]
    rng = random.Random(5)
    docs = [{"id": page["id"], "text": page["text"]} for page in pages if page not in longest]
    for number, page in enumerate(longest):
        docs += [{"id": f"family{number}/{copy:05d}", "text": near_duplicate(page["text"], rng, 0.01, 1)[0]}
                 for copy in range(args.copies)]
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        write_parquet(docs, Path(tmp) / "docs")
        text_bytes = sum(len(doc["text"].encode()) for doc in docs)
        print(f"{len(docs):,} documents, {text_bytes / 2**20:.0f} MiB of text: {len(pages) - len(longest):,} real "
              "pages "
              f"and {args.families} families of {args.copies:,} near-copies of pages of "
              f"{', '.join(format(len(page['text']), ',') for page in longest)} characters; local[{CORES}], "
              f"driver memory {args.driver_memory}, {args.repeats} runs each, alternating")
        outputs: dict[str, dict] = {}

        def run(label: str, code: Path):
            output = Path(tmp) / label
            measured = run_job(code, "dedup", ["--input", f"{tmp}/docs", "--output", str(output), "--force"],
                               CORES, args.driver_memory)
            stats = json.loads((output / "stats.json").read_text())
            outputs[label] = {"rows_out": stats["rows_out"], "rejected": stats["rejected_by_reason"],
                              "verified_pairs": stats["extra"]["verified_pairs"],
                              "largest_cluster": stats["extra"]["largest_cluster"],
                              "kept": sorted(pq.read_table(output / "data", columns=["id"]).column("id").to_pylist())}
            return measured, stats["extra"]["seconds"]["lsh_and_verification"]

        results = alternate(args.before, args.repeats, run)
    print_sides(args.before, results, "LSH and verification step")
    same = outputs["before"] == outputs["after"]
    print(f"same result: {'yes' if same else 'NO'} ({outputs['after']['rows_out']:,} kept, rejected "
          f"{outputs['after']['rejected']}, {outputs['after']['verified_pairs']:,} verified pairs, "
          f"largest cluster {outputs['after']['largest_cluster']:,})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--tmp", default=None, help="folder for temporary corpora and outputs")
    parser.add_argument("--driver-memory", default="4g", help="Spark driver memory (local mode: the executor too)")
    commands = parser.add_subparsers(dest="command", required=True)
    speed_parser = commands.add_parser("speed")
    speed_parser.add_argument("--docs", type=int, default=400, help="pages given to datasketch (a quarter to its loop)")
    speed_parser.add_argument("--scheme", default="affine32", choices=["affine32", "legacy"])
    speed_parser.add_argument("--stage-variants", type=int, default=8000, help="edited copies added for the stage run")
    accuracy_parser = commands.add_parser("accuracy")
    accuracy_parser.add_argument("--variants", type=int, default=1200, help="edited copies of real pages")
    scale_parser = commands.add_parser("scale")
    scale_parser.add_argument("--docs", type=int, default=1_000_000)
    clusters_parser = commands.add_parser("clusters")
    clusters_parser.add_argument("--before", type=Path, required=True,
                                 help="a checkout of the code before the change (mkdir DIR && git archive c400212 | "
                                 "tar -x -C DIR)")
    clusters_parser.add_argument("--families", type=int, default=3, help="near-duplicate families (one per long page)")
    clusters_parser.add_argument("--copies", type=int, default=2000, help="near-copies in each family")
    clusters_parser.add_argument("--repeats", type=int, default=3, help="runs of each version, alternating")
    args = parser.parse_args(argv)
    {"speed": speed, "accuracy": accuracy, "scale": scale, "clusters": clusters}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
