"""Cost per page as the input grows: the whole pipeline on 10,000, 30,000, 100,000 pages.

    python -m bench.scale --pages 10000 30000 100000 [--cores 2] [--pages-per-file 1000] [--json out.json]

For each size it builds the input (half sample-generator pages, dataflow/samples, with their
duplicates, spam and non-HTML records; half copies of the 1,695 real pages of ../shared/data/html,
each copy with a distinct payload so that no cache can skip it, bench/extract.py's `build_warcs`),
then runs every stage (or `--stages`, a prefix of the pipeline) of `dataflow run pipeline` as its own
process (`--from S --until S`, Spark local[cores]) and prints per stage: CPU seconds of the process tree
per 1,000 input pages
(core-seconds, the figure that holds on a shared machine), the stage's own wall seconds, peak
memory of the driver (the CLI process and its JVM) and of the largest Python worker, rows and
bytes out. Each stage process pays one JVM start (some CPU seconds whatever the size), so the
cost per page at small sizes overstates the marginal cost: compare sizes, not one size alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.extract import REPO, build_warcs
from bench.peak_memory import run_measured
from dataflow.stages import STAGE_ORDER
from dataflow.samples.generate import write_sample_warcs

REAL_PAGES = 1695
#: Where `dataflow run pipeline` writes each stage (jobs/pipeline.py), for rows and bytes out.
STAGE_FOLDERS = {"extract": "docs", "filter": "filtered", "dedup": "deduped", "classify": "scored",
                 "decontaminate": "clean", "tokenizer": "tokenizer", "tokenize": "tokens/web", "mix": "shards"}


def build_input(folder: Path, pages: int, pages_per_file: int) -> list[str]:
    """Globs of `pages` input pages: half generated, half copies of the real pages."""
    generated = pages // 2
    real = pages - generated
    write_sample_warcs(folder / "generated", num_pages=generated, num_files=max(1, generated // pages_per_file),
                       seed=pages)
    copies = math.ceil(real / REAL_PAGES)
    (folder / "real").mkdir(parents=True)
    build_warcs(folder / "real", max(1, real // pages_per_file), math.ceil(real / copies), copies)
    return [str(folder / "generated" / "*.warc.gz"), str(folder / "real" / "*.warc.gz")]


def run_stage(stage: str, inputs: list[str], out: Path, cores: int) -> dict:
    """One stage as its own `dataflow run pipeline --from S --until S` process, measured."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": f"--master local[{cores}] pyspark-shell",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    roles: dict[str, int] = {}
    command = [str(Path(sys.executable).parent / "dataflow"), "run", "pipeline", "--from", stage, "--until", stage,
               "--output", str(out), "--quiet", *[flag for glob in inputs for flag in ("--input", glob)]]
    measured = run_measured(command, timeout_seconds=6 * 3600, roles=roles, env=env)
    folder = out / STAGE_FOLDERS[stage]
    stats_files = sorted(folder.rglob("stats.json"))
    stats = json.loads(stats_files[0].read_text()) if stats_files else {}
    return {"cpu_seconds": measured.cpu_seconds, "wall_seconds": measured.seconds,
            "stage_seconds": stats.get("seconds"),
            "driver_peak_bytes": roles.get("driver", 0), "worker_peak_bytes": roles.get("python_worker", 0),
            "rows_out": stats.get("rows_out", stats.get("documents", stats.get("tokens"))),
            "bytes_out": sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())}


def measure(pages: int, args: argparse.Namespace, work: Path) -> dict:
    inputs = build_input(work / f"input-{pages}", pages, args.pages_per_file)
    out = work / f"run-{pages}"
    result = {"pages": pages, "stages": {}}
    for stage in args.stages:
        result["stages"][stage] = run_stage(stage, inputs, out, args.cores)
        print(report({"pages": pages, "stages": {stage: result["stages"][stage]}})[-1], flush=True)
    shutil.rmtree(work / f"input-{pages}")
    shutil.rmtree(out)
    return result


def report(*results: dict) -> list[str]:
    header = (f"{'pages':>8} {'stage':<14} {'core-s/1k':>10} {'stage s':>8} {'driver MB':>10} {'worker MB':>10} "
              f"{'rows out':>10} {'MB out':>8}")
    lines = [header]
    for result in results:
        for stage, row in result["stages"].items():
            lines.append(f"{result['pages']:>8,} {stage:<14} {1000 * row['cpu_seconds'] / result['pages']:>10.1f} "
                         f"{row['stage_seconds'] or 0:>8.1f} {row['driver_peak_bytes'] / 2**20:>10.0f} "
                         f"{row['worker_peak_bytes'] / 2**20:>10.0f} {row['rows_out'] or 0:>10,} "
                         f"{row['bytes_out'] / 2**20:>8.1f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--cores", type=int, default=2, help="Spark local[N]")
    parser.add_argument("--pages-per-file", type=int, default=1000, help="input pages per WARC file")
    parser.add_argument("--stages", nargs="+", default=[stage for stage in STAGE_ORDER if stage != "classify"],
                        choices=STAGE_ORDER, help="stages to run, in pipeline order, from extract on "
                                                  "[default: all but classify, which needs a quality model]")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = []
        for pages in args.pages:
            results.append(measure(pages, args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(*results)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
