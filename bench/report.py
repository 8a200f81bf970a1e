"""Peak memory of `dataflow report` on a 1M-row stage, beside reading that stage whole.

Generates an extract-like stage folder with pyarrow (not by running the pipeline): N documents
(id, url, domain, language, quality_score, text of 10-200 words from a fixed word list),
a tenth as many rejected rows under five reasons, stats.json and _SUCCESS, written batch by
batch. Then, each in its own process and measured over its process tree (bench/peak_memory.py):

- ours: `dataflow report STAGE_PARENT` (funnel, rejections with examples, length and quality
  histograms, languages, domains: the stage scanned in batches of the needed columns);
- whole: `pyarrow.parquet.read_table` of the same columns (text, language, domain,
  quality_score), i.e. what loading the stage into memory costs.

    python -m bench.report [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.peak_memory import run_measured

BATCH = 100_000
WORDS = np.array("the of and to in is was for on with as by at from that this which be are it an or were "
                 "data river city music garden history science water market school paper light night "
                 "Haus und der die das ist ein mit von Stadt Wasser Zeit".split())
REASONS = ["gopher_word_count", "c4_min_sentences", "dup_line_frac", "near_duplicate", "language"]


def batch(rng: np.random.Generator, start: int, rows: int, rejected: bool) -> pa.RecordBatch:
    lengths = rng.integers(10, 200, rows)
    words = WORDS[rng.integers(0, len(WORDS), int(lengths.sum()))]
    texts = [" ".join(chunk) for chunk in np.split(words, np.cumsum(lengths)[:-1])]
    domains = [f"site{n}.example" for n in rng.zipf(1.3, rows) % 200_000]
    columns = {
        "id": [f"doc{start + i:09d}" for i in range(rows)],
        "url": [f"https://{domain}/p/{start + i}" for i, domain in enumerate(domains)],
        "domain": domains,
        "language": rng.choice(["en", "de", "fr", "es", "ja"], rows, p=[0.6, 0.15, 0.1, 0.1, 0.05]).tolist(),
        "quality_score": rng.beta(2, 5, rows),
        "text": texts,
    }
    if rejected:
        columns["reject_reason"] = rng.choice(REASONS, rows).tolist()
        columns["reject_value"] = rng.random(rows).round(3).astype(str).tolist()
    return pa.RecordBatch.from_pydict(columns)


def write_stage(folder: Path, rows: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    figures = {"rows_out": rows, "rows_rejected": rows // 10, "bytes_out": 0}
    for part, count, rejected in (("data", rows, False), ("rejected", rows // 10, True)):
        (folder / part).mkdir(parents=True)
        with pq.ParquetWriter(folder / part / "part-00000.parquet", batch(rng, 0, 1, rejected).schema,
                              compression="zstd") as writer:
            for start in range(0, count, BATCH):
                chunk = batch(rng, start, min(BATCH, count - start), rejected)
                if not rejected:
                    figures["bytes_out"] += sum(len(t.encode()) for t in chunk.column("text").to_pylist())
                writer.write_batch(chunk)
    by_reason = {reason: 0 for reason in REASONS}
    for reason in pq.read_table(folder / "rejected", columns=["reject_reason"]).column(0).to_pylist():
        by_reason[reason] += 1
    stats = {"stage": "extract", "fingerprint": "bench", "inputs": [], "rows_in": rows + rows // 10,
             **figures, "rejected_by_reason": by_reason, "seconds": 1.0}
    (folder / "stats.json").write_text(json.dumps(stats))
    (folder / "_SUCCESS").write_text("")
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="write the stage here and keep it, or reuse the one there "
                                       "[default: a temporary folder]")
    args = parser.parse_args(argv)
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-report-"))
    try:
        stage = root / "run" / "docs"
        kept = (stage / "_SUCCESS").exists() and json.loads((stage / "stats.json").read_text())["rows_out"] == args.rows
        stats = json.loads((stage / "stats.json").read_text()) if kept else write_stage(stage, args.rows)
        on_disk = sum(path.stat().st_size for path in (root / "run" / "docs").rglob("*.parquet"))
        print(f"stage: {args.rows:,} rows, {stats['bytes_out'] / 1e6:,.0f} MB of text, {on_disk / 1e6:,.0f} MB of "
              "Parquet")
        ours = run_measured([sys.executable, "-m", "dataflow", "report", str(root / "run"),
                             "--output", str(root / "report.html")])
        whole = run_measured([sys.executable, "-c", "import pyarrow.parquet as pq, sys; t = pq.read_table(sys.argv[1], "
                              "columns=['text', 'language', 'domain', 'quality_score']); print(t.nbytes)",
                              str(root / "run" / "docs" / "data")])
        for name, measured in (("dataflow report", ours), ("read_table (whole stage)", whole)):
            if measured.result.returncode:
                raise SystemExit(f"{name} failed: {measured.result.stderr.strip()[-500:]}")
            print(f"{name:26s} peak RSS {measured.peak_bytes / 2**20:8,.0f} MiB   {measured.seconds:6.1f} s wall   "
                  f"{measured.cpu_seconds:6.1f} s CPU")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
