"""WARC to filtered text end to end: ours (one Spark application) vs datatrove 0.10.1, same WARCs, same cores.

    python -m bench.warc_to_text [--copies 1 8] [--repeat 1] [--limit 1000] [--cores 2] [--languages en]
    # datatrove too when $DATATROVE_PYTHON is set

The steps on both sides: WARC -> trafilatura (favour_precision, no comments, deduplicate off, 2 s
per page) -> lid.176 (top language's score above 0.65) -> Gopher repetition -> Gopher quality ->
C4 (edits the text) -> FineWeb -> written documents, kept and rejected with their reason.
`--languages en` keeps only those languages on both sides (FineWeb's English-only setting):
datatrove's `LanguageFilter(languages=[...])`, our `keep_languages`, which also turns on our
cascade (a cheap language guess that drops clearly off-language pages before trafilatura).

- ours: `dataflow run pipeline --until filter`, one Spark application (local[N]) running the
  extract stage and the filter stage back to back (jobs/pipeline.py), with the config
  `ours_config()` writes: datatrove's rule set at its thresholds (bench/filter_agreement.py's
  CHAIN), and, as datatrove's filters do by default, English stop words and word rules for every
  language; text repair and personal-data masking off (datatrove has neither);
- datatrove 0.10.1 in its own venv ($DATATROVE_PYTHON, bench/peers.py): WarcReader ->
  Trafilatura -> LanguageFilter -> GopherRepetitionFilter -> GopherQualityFilter ->
  C4QualityFilter -> FineWebQualityFilter -> JsonlWriter, every filter with an exclusion writer
  (FineWeb's `removed/` folders, our rejected/), N tasks and N workers.

The input is bench/extract.py's: the first `--limit` of the 1,695 real pages of ../shared/data/html written as Common
Crawl-like WARCs, one file per core, `--copies` times (distinct payloads, so no side reuses a
copy's extraction). For each copies value the two sides run alternately `--repeat` times, and it
prints the best figure and the range: input pages per second per core end to end and (ours)
without the JVM start (the two stages' own seconds), pages per CPU second (steadier on a shared
machine), peak memory of each process tree, documents kept, and the kept sets' agreement: pages
with the same keep/drop decision, Jaccard of the kept URL sets, the pages only one side keeps
counted by the step where the other dropped them, with examples. `--json` writes it all.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from bench.extract import REPO, SHARED, build_warcs
from bench.filter_agreement import CHAIN, DATATROVE_C4_MARKS
from bench.peak_memory import run_measured
from bench.peers import datatrove_problem, datatrove_python
from dataflow.extract.langid import default_model_path
from dataflow.filters.gopher import stop_words

#: datatrove's LanguageFilter keeps a page whose top language scores above this (its default).
LANGUAGE_THRESHOLD = 0.65
#: datatrove's filters in pipeline order, with the folder name of each one's removed documents.
DATATROVE_STEPS = ("language", "gopher_repetition", "gopher_quality", "c4", "fineweb")
EXAMPLES = 3

DATATROVE_SCRIPT = textwrap.dedent("""
    import os
    import sys
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter, LanguageFilter)
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.lid import FT176LID

    # Module level: datatrove's spawned workers re-import this file and load the model (offline).
    FT176LID.MODEL_URL = os.environ["BENCH_LID_MODEL"]

    if __name__ == "__main__":
        warc_dir, out_dir, removed, logs, tasks, languages = sys.argv[1:7]

        def removed_to(step):
            return JsonlWriter(f"{removed}/{step}", compression=None)

        LocalPipelineExecutor(
            pipeline=[
                WarcReader(warc_dir, glob_pattern="*.warc.gz"),
                Trafilatura(favour_precision=True, deduplicate=False, timeout=2.0),
                LanguageFilter(languages=languages.split(",") if languages else None,
                               exclusion_writer=removed_to("language")),
                GopherRepetitionFilter(exclusion_writer=removed_to("gopher_repetition")),
                GopherQualityFilter(exclusion_writer=removed_to("gopher_quality")),
                C4QualityFilter(exclusion_writer=removed_to("c4")),
                FineWebQualityFilter(exclusion_writer=removed_to("fineweb")),
                JsonlWriter(out_dir, compression=None),
            ],
            tasks=int(tasks), workers=int(tasks), logging_dir=logs,
        ).run()
""")


def ours_config(languages: list[str]) -> dict:
    """The pipeline config of our side: datatrove's steps at datatrove's thresholds (module docstring)."""
    return {
        "extract": {"min_language_score": LANGUAGE_THRESHOLD, "keep_languages": languages,
                    "repair": {"enabled": False}},
        "filter": {
            "rules": CHAIN,
            "thresholds": {"c4_terminal_punct": {"marks": DATATROVE_C4_MARKS},
                           "gopher_stop_words": {"words": sorted(stop_words("en"))}},
            "languages": {"zh": None, "ja": None},  # datatrove counts words with spaCy English everywhere
            "pii": {"enabled": False},
        },
    }


def run_ours(warc_dir: Path, out: Path, cores: int, languages: list[str]) -> dict:
    """Extract and filter in one `dataflow run pipeline` process: timing, memory, decisions per URL."""
    config = out.parent / "ours.yaml"
    config.write_text(yaml.safe_dump(ours_config(languages)), encoding="utf-8")
    dataflow = Path(sys.executable).parent / "dataflow"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": f"--master local[{cores}] pyspark-shell",
           # the CLI and its Spark workers import this checkout, whatever the venv has installed
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    measured = run_measured([str(dataflow), "run", "pipeline", "--config", str(config), "--input",
                             str(warc_dir / "*.warc.gz"), "--output", str(out), "--until", "filter", "--quiet"],
                            env=env)
    stages = {name: json.loads((out / folder / "stats.json").read_text())
              for name, folder in (("extract", "docs"), ("filter", "filtered"))}
    rejected = {}
    for name, folder in (("extract", "docs"), ("filter", "filtered")):
        table = pq.read_table(out / folder / "rejected", columns=["url", "reject_reason"]).to_pydict()
        rejected |= {url: f"{name}: {reason}" for url, reason in zip(table["url"], table["reject_reason"])}
    return {"wall_seconds": measured.seconds, "cpu_seconds": measured.cpu_seconds, "peak_bytes": measured.peak_bytes,
            "stage_seconds": {name: stats["seconds"] for name, stats in stages.items()},
            "kept": set(pq.read_table(out / "filtered" / "data", columns=["url"]).column("url").to_pylist()),
            "rejected": rejected, "reasons": {name: stats["rejected_by_reason"] for name, stats in stages.items()}}


def run_datatrove(python: str, warc_dir: Path, work: Path, cores: int, languages: list[str]) -> dict:
    """datatrove's pipeline (DATATROVE_SCRIPT) in its venv: timing, memory, decisions per URL."""
    script = work / "datatrove_warc_to_text.py"
    script.write_text(DATATROVE_SCRIPT)
    out, removed = work / "datatrove_out", work / "datatrove_removed"
    env = {**os.environ, "BENCH_LID_MODEL": default_model_path()}
    measured = run_measured([python, str(script), str(warc_dir), str(out), str(removed), str(work / "datatrove_logs"),
                             str(cores), ",".join(languages)], env=env)
    rejected = {url: f"{step}: {reason or 'dropped'}"
                for step in DATATROVE_STEPS for url, reason in _jsonl_urls(removed / step)}
    return {"wall_seconds": measured.seconds, "cpu_seconds": measured.cpu_seconds, "peak_bytes": measured.peak_bytes,
            "kept": {url for url, _ in _jsonl_urls(out)}, "rejected": rejected}


def _jsonl_urls(folder: Path):
    """(url, filter_reason) of every document a datatrove JsonlWriter wrote into `folder`."""
    for part in sorted(folder.glob("*.jsonl")):
        for line in part.open(encoding="utf-8"):
            metadata = json.loads(line)["metadata"]
            yield metadata["url"], metadata.get("filter_reason")


def agreement(pages: int, ours: dict, peer: dict) -> dict:
    """How far the kept URL sets agree, and where the other side dropped the pages only one keeps.

    A page neither side names in its output or rejections was not extracted (datatrove drops
    pages trafilatura returns nothing for, or times out on, without a record).
    """
    both, only_ours, only_peer = ours["kept"] & peer["kept"], ours["kept"] - peer["kept"], peer["kept"] - ours["kept"]
    union = ours["kept"] | peer["kept"]
    return {
        "same_decision": 1 - (len(only_ours) + len(only_peer)) / pages,
        "kept_both": len(both),
        "jaccard": len(both) / len(union) if union else 1.0,
        "ours_kept_also_by_datatrove": len(both) / len(ours["kept"]) if ours["kept"] else 1.0,
        "datatrove_kept_also_by_ours": len(both) / len(peer["kept"]) if peer["kept"] else 1.0,
        "only_ours": _disagreements(only_ours, peer["rejected"], "datatrove"),
        "only_datatrove": _disagreements(only_peer, ours["rejected"], "ours"),
    }


def _disagreements(urls: set[str], other_rejected: dict[str, str], other: str) -> dict:
    reasons = {url: other_rejected.get(url, "not extracted") for url in sorted(urls)}
    steps = Counter(reason.split(":")[0] for reason in reasons.values())
    return {"count": len(urls), f"{other}_dropped_at": dict(steps.most_common()),
            "examples": [{"url": url, f"{other}": reason} for url, reason in list(reasons.items())[:EXAMPLES]]}


def measure(copies: int, args: argparse.Namespace, work: Path) -> dict:
    """Both sides on `copies` copies of the pages, alternated `args.repeat` times."""
    warc_dir = work / f"warc-{copies}"
    warc_dir.mkdir()
    warcs = build_warcs(warc_dir, args.cores, args.limit, copies)
    problem = None if args.ours_only else datatrove_problem()
    runs: dict[str, list[dict]] = {"ours": [], "datatrove": []}
    for repeat in range(args.repeat):
        sides = ["ours"] + ([] if args.ours_only or problem else ["datatrove"])
        for side in sides if repeat % 2 == 0 else sides[::-1]:  # alternate who goes first
            run_dir = work / f"{side}-{copies}-{repeat}"
            run_dir.mkdir()
            if side == "ours":
                runs[side].append(run_ours(warc_dir, run_dir / "out", args.cores, args.languages))
            else:
                runs[side].append(run_datatrove(datatrove_python(), warc_dir, run_dir, args.cores, args.languages))
            shutil.rmtree(run_dir)
    pages = _page_count(args.limit) * copies
    result = {"copies": copies, "pages": pages, "warc_files": len(warcs), "cores": args.cores,
              "languages": args.languages,
              "warc_megabytes": round(sum(w.stat().st_size for w in warcs) / 1e6, 1),
              "ours": summarise(runs["ours"], pages, args.cores), "datatrove": None,
              "datatrove_not_run": None if runs["datatrove"] else (problem or "--ours-only")}
    if runs["datatrove"]:
        result["datatrove"] = summarise(runs["datatrove"], pages, args.cores)
        result["agreement"] = agreement(pages, runs["ours"][-1], runs["datatrove"][-1])
    shutil.rmtree(warc_dir)
    return result


def _page_count(limit: int) -> int:
    total = sum(1 for _ in open(SHARED / "html" / "manifest.jsonl", encoding="utf-8"))
    return min(limit, total) if limit else total


def summarise(runs: list[dict], pages: int, cores: int) -> dict:
    """Best, worst and every run's figures; kept counts and reasons from the last run."""
    def rates(seconds: list[float]) -> list[float]:
        return sorted((pages / s / cores for s in seconds), reverse=True)

    summary = {
        "docs_per_second_per_core": rates([run["wall_seconds"] for run in runs]),
        "docs_per_cpu_second": sorted((pages / run["cpu_seconds"] for run in runs), reverse=True),
        "wall_seconds": [round(run["wall_seconds"], 1) for run in runs],
        "peak_gib": max(run["peak_bytes"] for run in runs) / 2**30,
        "kept": len(runs[-1]["kept"]),
    }
    if "stage_seconds" in runs[0]:
        summary["without_jvm_start"] = rates([sum(run["stage_seconds"].values()) for run in runs])
        summary["stage_seconds"] = [run["stage_seconds"] for run in runs]
        summary["rejected_by_reason"] = runs[-1]["reasons"]
    return summary


def report(result: dict) -> list[str]:
    """The printed lines of one copies value."""
    def best(values: list[float]) -> str:
        spread = f" ({values[-1]:.1f}-{values[0]:.1f})" if len(values) > 1 else ""
        return f"{values[0]:6.1f}{spread}"

    ours, peer = result["ours"], result["datatrove"]
    lines = [f"== {result['copies']} cop{'y' if result['copies'] == 1 else 'ies'}: {result['pages']:,} pages in "
             f"{result['warc_files']} WARC files ({result['warc_megabytes']} MB), local[{result['cores']}], "
             f"languages {','.join(result['languages']) or 'all'}; "
             f"best of {len(ours['wall_seconds'])} (range)",
             f"ours      : {best(ours['docs_per_second_per_core'])} pages/s/core end to end, "
             f"{best(ours['without_jvm_start'])} without the JVM start; {best(ours['docs_per_cpu_second'])} pages per "
             f"CPU second; peak {ours['peak_gib']:.2f} GiB; kept {ours['kept']:,}; wall {ours['wall_seconds']} s, "
             f"stages {ours['stage_seconds']}"]
    if peer is None:
        lines.append(f"datatrove : not run ({result['datatrove_not_run']})")
    else:
        lines.append(f"datatrove : {best(peer['docs_per_second_per_core'])} pages/s/core end to end; "
                     f"{best(peer['docs_per_cpu_second'])} pages per CPU second; peak {peer['peak_gib']:.2f} GiB; "
                     f"kept {peer['kept']:,}; wall {peer['wall_seconds']} s")
        ratio = ours["docs_per_second_per_core"][0] / peer["docs_per_second_per_core"][0]
        lines.append(f"ratio     : ours/datatrove {ratio:.2f}x end to end (best vs best), "
                     f"{ours['without_jvm_start'][0] / peer['docs_per_second_per_core'][0]:.2f}x without our JVM "
                     "start, "
                     f"{ours['docs_per_cpu_second'][0] / peer['docs_per_cpu_second'][0]:.2f}x per CPU second")
        agree = result["agreement"]
        lines.append(f"agreement : same keep/drop on {agree['same_decision']:.2%} of pages; kept by both "
                     f"{agree['kept_both']:,}, Jaccard {agree['jaccard']:.4f}; "
                     f"{agree['ours_kept_also_by_datatrove']:.2%} "
                     f"of ours kept by datatrove, {agree['datatrove_kept_also_by_ours']:.2%} of datatrove's kept by "
                     "ours")
        for side, other in (("only_ours", "datatrove"), ("only_datatrove", "ours")):
            item = agree[side]
            lines.append(f"  {side:<15} {item['count']:,}, {other} dropped them at {item[f'{other}_dropped_at']}")
            lines += [f"      {example['url']}  ({other}: {example[other]})" for example in item["examples"]]
    lines.append(f"ours rejected: {ours['rejected_by_reason']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 8],
                        help="write the pages this many times, one measurement each (default: 1 8)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side per copies value, alternated")
    parser.add_argument("--limit", type=int, default=1000,
                        help="use only the first N pages (0: all 1,695); 1,000 keeps `--copies 1 8` under 15 minutes "
                             "on 2 idle cores")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2,
                        help="Spark local[N]; datatrove's tasks and workers")
    parser.add_argument("--languages", nargs="*", default=[],
                        help="keep only these languages on both sides (default: all, as datatrove's LanguageFilter)")
    parser.add_argument("--ours-only", action="store_true",
                        help="do not run datatrove even when $DATATROVE_PYTHON is set")
    parser.add_argument("--json", help="also write every figure here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-warc-to-text-"))
    print("ours: one Spark application, extract then filter; datatrove 0.10.1: one pipeline; the same steps "
          "(python -m bench.warc_to_text --help)", flush=True)
    results = []
    try:
        for copies in args.copies:
            results.append(measure(copies, args, work))
            print("\n".join(report(results[-1])), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
