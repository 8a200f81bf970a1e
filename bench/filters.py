"""Throughput of the filter stage and of quality scoring, with datatrove's filters side by side.

    python -m bench.filters [--sample N] [--model quality.bin] [--spark]

Same documents for both (the trafilatura text of the 1,695 real pages in ../shared/data/html),
same run. Figures are documents per second per core, from CPU time in one process:
- ours: the filter stage's Arrow function (dataflow/filters/apply.py filter_batch, what each
  Spark task runs) with the default rule set, and with exactly datatrove's rule set at its
  thresholds (Gopher repetition + Gopher quality + C4 + FineWeb, bench/filter_agreement.py);
- scoring: classifiers/quality.py score_batches with a fastText model (--model, or the tests'
  model trained here: bench/common/real_pages.py, WikiText vs boilerplate, DCLM's hyper-parameters);
- datatrove 0.10.1: its four filters on the same documents in its own venv
  (bench/datatrove_filters.py), per filter and together, and the keep/drop agreement of the two
  (FineWeb's chain, bench/filter_agreement.py).
`--spark` adds the filter job end to end on local[2] (wall clock, Parquet in and out).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from bench.filter_agreement import (CHAIN, REPO, SHARED_DATA, compare, datatrove_segments_cjk, load_pages,
                                    our_decisions, parity_config, run_datatrove)
from bench.peers import datatrove_python
from classifiers.quality import score_batches
from dataflow.filters.apply import filter_batch
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.schema import doc_schema
from bench.common.real_pages import train_quality_model

BATCH_ROWS = 256


def batches(pages: list[dict]) -> list[pa.RecordBatch]:
    table = pa.Table.from_pylist([{"id": page["id"], "text": page["text"], "language": page["language"],
                                   "url": page["url"]} for page in pages], schema=doc_schema())
    return table.to_batches(max_chunksize=BATCH_ROWS)


def cpu_seconds(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def filter_rate(pages: list[dict], config: FilterConfig) -> float:
    data = batches(pages)
    rules = RuleSet(config)
    filter_batch(data[0].slice(0, 1), rules)  # warm-up: imports, per-language rule objects, symbol table
    return len(pages) / cpu_seconds(lambda: [filter_batch(batch, rules) for batch in data])


def scoring_rate(pages: list[dict], model: str) -> float:
    data = batches(pages)
    list(score_batches(data[:1], model))  # warm-up: loads the model once, as a Spark worker does
    return len(pages) / cpu_seconds(lambda: list(score_batches(data, model)))


def spark_rate(pages: list[dict], folder: str) -> tuple[float, int]:
    """Filter job end to end on local[2]: documents per wall second per core, and the cores."""
    import pyarrow.parquet as pq

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    from pyspark.sql import SparkSession

    from jobs import filter as filter_job

    docs = os.path.join(folder, "docs")
    os.makedirs(docs)
    pq.write_table(pa.Table.from_batches(batches(pages)), os.path.join(docs, "part-0.parquet"))
    SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false") \
        .config("spark.ui.showConsoleProgress", "false").getOrCreate()
    filter_job.main(["--input", docs, "--output", os.path.join(folder, "warm")])  # JVM and workers warm
    started = time.time()
    filter_job.main(["--input", docs, "--output", os.path.join(folder, "filtered")])
    return len(pages) / (time.time() - started) / 2, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, help="use this many evenly spaced pages (default: all 1,695)")
    parser.add_argument("--model", help="fastText quality model to time (default: train one here)")
    parser.add_argument("--spark", action="store_true", help="also time the filter job end to end on local[2]")
    parser.add_argument("--datatrove-extra-path",
                        help="folder with jieba and SudachiPy for datatrove's zh/ja tokenizers (optional)")
    args = parser.parse_args(argv)
    python = datatrove_python()
    pages = load_pages(args.sample)
    languages = {page["language"] for page in pages}
    cjk_words = datatrove_segments_cjk(python, args.datatrove_extra_path)
    print(f"{len(pages)} documents, {sum(len(page['text']) for page in pages) / len(pages):,.0f} characters on average")

    ours_default = filter_rate(pages, FilterConfig())
    ours_same_rules = filter_rate(pages, parity_config(CHAIN, languages, cjk_words))
    theirs, timing = run_datatrove(pages, python, args.datatrove_extra_path, cjk_words)
    datatrove_total = sum(timing["cpu_seconds"].values())
    agreement = compare(pages, our_decisions(pages, cjk_words), theirs, cjk_words)["families"]["chain"]["agreement"]

    def row(label: str, value: str) -> None:
        print(f"  {label:<62}{value}")

    print("\nfilter, documents/s per core (CPU time, one process)")
    row(f"ours, default rules ({len(FilterConfig().rules)}, degenerate guard included)", f"{ours_default:8,.0f}")
    row("ours, datatrove's rule set (Gopher rep+quality, C4, FineWeb)", f"{ours_same_rules:8,.0f}")
    for name, seconds in timing["cpu_seconds"].items():  # each document goes through them in this order
        row(f"datatrove {name}", f"{len(pages) / seconds:8,.0f}   ({seconds / len(pages) * 1000:.2f} ms/doc)")
    print("    (later datatrove filters reuse the spaCy tokenizer cache the first one warmed on the same text)")
    row("datatrove, the four filters together", f"{len(pages) / datatrove_total:8,.0f}")
    row("ratio, same rule set: ours / datatrove", f"{ours_same_rules * datatrove_total / len(pages):7.1f}x"
        f"   (same keep/drop on {agreement:.1%} of documents)")

    with tempfile.TemporaryDirectory(prefix="bench-filters-") as tmp:
        model = args.model or str(train_quality_model(SHARED_DATA, Path(tmp)))
        print(f"\nscoring, documents/s per core: {scoring_rate(pages, model):,.0f}  "
              f"(fastText model {os.path.getsize(model):,} bytes)")
        if args.spark:
            rate, cores = spark_rate(pages, tmp)
            print(f"filter job end to end, Spark local[{cores}]: {rate:,.0f} documents/s per core (wall clock)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
