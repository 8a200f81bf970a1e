"""Extraction throughput: our Spark extract job vs datatrove, same WARCs, same cores, one run.

Builds Common Crawl-like WARC files (request, response, metadata per page;
`WARC-Identified-Payload-Type` set as CC does) from the real pages of ../shared/data/html,
one file per core, then runs

- ours: `dataflow run extract` (Spark local[N], FastWARC, decoding, trafilatura, lid.176), text
  repair off (datatrove has none; it costs about 1 ms a page, bench/text_repair.py);
- datatrove 0.10.1 in its own venv: WarcReader -> Trafilatura -> LanguageFilter(label_only)
  -> JsonlWriter with N tasks and N workers,

with the same trafilatura settings (favor_precision, no comments, deduplicate off, which also
makes datatrove deterministic; the versions are each side's pins, ours 2.x, datatrove's 1.11)
and the same lid.176.ftz. It prints docs/s per core (end to end, and for ours also without the
JVM start), peak memory of each process tree, and the share of pages whose extracted text is
identical.

    # datatrove too when $DATATROVE_PYTHON is set
    python -m bench.extract [--cores 2] [--limit 0] [--copies 1] [--repeat 1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

from bench.peak_memory import run_measured
from bench.peers import datatrove_problem, datatrove_python
from dataflow.extract.langid import default_model_path
from bench.common.warc_builder import Page, write_warc

REPO = Path(__file__).resolve().parents[1]

SHARED = Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data"))  # as tests/conftest.py

DATATROVE_SCRIPT = textwrap.dedent("""
    import os
    import sys
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.lid import FT176LID

    # Module level, not under the main guard: datatrove's workers are spawned processes that
    # re-import this file, and they load the model. Offline: the same lid.176.ftz our job uses.
    FT176LID.MODEL_URL = os.environ["BENCH_LID_MODEL"]

    if __name__ == "__main__":
        warc_dir, out_dir, logs, tasks = sys.argv[1:5]
        LocalPipelineExecutor(
            pipeline=[
                WarcReader(warc_dir, glob_pattern="*.warc.gz"),
                Trafilatura(favour_precision=True, deduplicate=False, timeout=2.0),
                LanguageFilter(label_only=True),
                JsonlWriter(out_dir, compression=None),
            ],
            tasks=int(tasks), workers=int(tasks), logging_dir=logs,
        ).run()
""")


def build_warcs(folder: Path, cores: int, limit: int, copies: int = 1) -> list[Path]:
    """One WARC per core holding the pages `copies` times (copy k's URL gets `#k`, so every
    record is distinct and texts still pair up by URL). Copy k's HTML ends with a `<!-- copy k -->`
    comment, which no extractor keeps: its payload digest differs, so the extract cascade's
    digest reuse cannot skip copies (a real crawl repeats few payloads)."""
    rows = [json.loads(line) for line in open(SHARED / "html" / "manifest.jsonl", encoding="utf-8")]
    rows = rows[:limit] if limit else rows
    html = [gzip.open(SHARED / "html" / row["file"]).read() for row in rows]
    pages = [Page((row.get("url") or f"http://bench.example/{row['id']}") + (f"#{copy}" if copy else ""),
                  body + (f"\n<!-- copy {copy} -->".encode() if copy else b""),
                  warc_headers={"WARC-Identified-Payload-Type": "text/html"})
             for copy in range(copies) for row, body in zip(rows, html)]
    return [write_warc(folder / f"bench-{i:05d}.warc.gz", pages[i::cores], with_requests=True) for i in range(cores)]


def run_ours(warc_dir: Path, out: Path, cores: int) -> dict:
    dataflow = Path(sys.executable).parent / "dataflow"
    config = out.parent / "ours.yaml"
    config.write_text("extract:\n  repair:\n    enabled: false\n", encoding="utf-8")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": f"--master local[{cores}] pyspark-shell"}
    seconds, peak, _, _ = run_measured([str(dataflow), "run", "extract", "--input", str(warc_dir / "*.warc.gz"),
                                     "--output", str(out), "--config", str(config), "--force"], env=env)
    stats = json.loads((out / "stats.json").read_text())
    texts = dict(zip(*pq.read_table(out / "data", columns=["url", "text"]).to_pydict().values()))
    return {"wall_seconds": seconds, "stage_seconds": stats["seconds"], "peak_bytes": peak, "texts": texts,
            "rejected": stats["rejected_by_reason"]}


def run_datatrove(python: str, warc_dir: Path, work: Path, cores: int) -> dict:
    script = work / "datatrove_extract.py"
    script.write_text(DATATROVE_SCRIPT)
    out = work / "datatrove_out"
    for previous in (out, work / "datatrove_logs"):  # datatrove skips tasks its logs call complete
        shutil.rmtree(previous, ignore_errors=True)
    env = {**os.environ, "BENCH_LID_MODEL": default_model_path()}
    seconds, peak, _, _ = run_measured([python, str(script), str(warc_dir), str(out), str(work / "datatrove_logs"),
                                     str(cores)], env=env)
    texts = {}
    for part in sorted(out.glob("*.jsonl")):
        for line in part.open(encoding="utf-8"):
            doc = json.loads(line)
            texts[doc["metadata"]["url"]] = doc["text"]
    return {"wall_seconds": seconds, "peak_bytes": peak, "texts": texts}


def median_run(runs: list[dict], key: str) -> dict:
    """The run with the median `key` (the lower middle one of an even count)."""
    return sorted(runs, key=lambda run: run[key])[(len(runs) - 1) // 2]


def spread(runs: list[dict]) -> str:
    times = sorted(run["wall_seconds"] for run in runs)
    return f", range {times[0]:.1f}-{times[-1]:.1f} over {len(times)} runs" if len(times) > 1 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N pages (0: all 1,695)")
    parser.add_argument("--copies", type=int, default=1,
                        help="write the pages this many times: fixed costs (JVM, Python workers) weigh less")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side, alternated; medians are printed")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    warc_dir = work / "warc"
    warc_dir.mkdir()
    warcs = build_warcs(warc_dir, args.cores, args.limit, args.copies)
    pages = (sum(1 for _ in open(SHARED / "html" / "manifest.jsonl")) if not args.limit else args.limit) * args.copies
    print(f"{pages} real pages in {len(warcs)} WARC files ({sum(w.stat().st_size for w in warcs) / 1e6:.1f} MB), "
          f"{args.cores} cores")
    ours_runs, peer_runs = [], []
    for _ in range(args.repeat):  # alternated, so load from other work hits both sides
        ours_runs.append(run_ours(warc_dir, work / "ours", args.cores))
        if not datatrove_problem():
            peer_runs.append(run_datatrove(datatrove_python(), warc_dir, work, args.cores))
    ours = median_run(ours_runs, "wall_seconds")
    ours["stage_seconds"] = statistics.median(run["stage_seconds"] for run in ours_runs)
    peer = median_run(peer_runs, "wall_seconds") if peer_runs else None

    def rate(seconds):
        return pages / seconds / args.cores

    print(f"ours      : {rate(ours['wall_seconds']):6.1f} docs/s/core end to end ({ours['wall_seconds']:.1f} s"
          f"{spread(ours_runs)}), {rate(ours['stage_seconds']):6.1f} without JVM start ({ours['stage_seconds']:.1f} "
          "s); "
          f"peak {ours['peak_bytes'] / 2**30:.2f} GiB; kept {len(ours['texts'])}")
    if peer is None:
        print(f"datatrove : not run ({datatrove_problem()})")
    else:
        print(f"datatrove : {rate(peer['wall_seconds']):6.1f} docs/s/core end to end ({peer['wall_seconds']:.1f} s"
              f"{spread(peer_runs)}); peak {peer['peak_bytes'] / 2**30:.2f} GiB; kept {len(peer['texts'])}")
        print(f"ratio     : {peer['wall_seconds'] / ours['wall_seconds']:.2f}x end to end, "
              f"{peer['wall_seconds'] / ours['stage_seconds']:.2f}x without our JVM start (medians of {args.repeat})")
        both = set(ours["texts"]) & set(peer["texts"])
        same = sum(ours["texts"][url] == peer["texts"][url] for url in both)
        print(f"identical : {same}/{len(both)} pages kept by both have identical text "
              f"(only ours: {len(set(ours['texts']) - both)}, only datatrove: {len(set(peer['texts']) - both)})")
    print(f"ours rejected: {ours['rejected']}")
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
