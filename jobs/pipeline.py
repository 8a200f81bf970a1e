"""Pipeline: every stage from WARC files to mixed token shards, in one command and one Spark session.

    dataflow run pipeline --config examples/pipeline.yaml          # input, output, every stage's section
    dataflow run pipeline --input 'out/warc/*.warc.gz' --output out
    dataflow run pipeline --config pipeline.yaml --from dedup --until decontaminate
    spark-submit --py-files dataflow.zip jobs/pipeline.py --config pipeline.yaml --output /shared/run1

extract -> filter -> dedup -> classify (when a quality model is given) -> decontaminate ->
tokenizer (unless --tokenizer) -> tokenize (one token source per `sources:` entry) -> mix,
each stage writing its own folder under the output: docs, filtered, deduped, scored, clean,
tokenizer/, tokens/<source>, mixture.yaml and shards/<name>. Flags override the config file's
top-level keys (input, output, sources, seq_len, seed). `--from STAGE` runs no stage before STAGE
(their outputs must be complete), `--until STAGE` none after it. When the run ends, the funnel
(rows, bytes and tokens per stage) is printed and written to funnel.json in the run folder. Each stage keeps the stage
contract, so a rerun skips every stage whose output is complete and current and a crashed run resumes at the stage that
failed;
`dataflow inspect OUTPUT` shows the funnel through them. The stages are the same jobs
`dataflow run STAGE` runs, given the same --config; use them one by one to branch a variant
from any stage's output.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from dataflow.atomic import write_text
from dataflow.config import with_overrides
from dataflow.errors import ConfigError, UserError
from dataflow.inspect.funnel import funnel_table, pipeline_order
from dataflow.inspect.render import render_table
from dataflow.pipeline import PipelineConfig, SourceSelection, load_pipeline_config
from dataflow.samples.benchmark import benchmark_path
from dataflow.shards import TokenDataset, split_path
from dataflow.stage import STATS_FILE, check_output, check_run_folder, read_stats
from dataflow.stages import STAGE_ORDER, stage_folder
from dataflow.tokenize.tokenizer import TOKENIZER_FILE
from jobs import classify
from jobs import decontaminate
from jobs import dedup
from jobs import extract
from jobs import mix
from jobs import tokenize_docs
from jobs import train_tokenizer
from jobs import filter as filter_stage
from jobs.common.arguments import DocumentsOptions
from jobs.common.documents_in import ColumnMapping, add_column_flags, column_mapping
from jobs.common.spark import get_spark

log = logging.getLogger(__name__)


FUNNEL_FILE = "funnel.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dataflow run pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", action="append",
                        help="WARC files: glob, directory, text file of paths, or warc.paths.gz listing; repeatable "
                             "[default: the config's input]")
    parser.add_argument("--output", help="run folder, one sub-folder per stage; token outputs need a path every "
                                         "executor sees [default: the config's output]")
    parser.add_argument("--config", help="pipeline YAML file: input, output, sources and one section per stage "
                                         "(examples/pipeline.yaml; `dataflow config show`)")
    parser.add_argument("--quality-model", help="fastText quality model: runs classify with the config's "
                                                "cut-off [default: the config's classify.model; none: no classify]")
    parser.add_argument("--benchmark", action="append", default=[],
                        help="benchmark to decontaminate against, as `dataflow run decontaminate` takes it; "
                             "repeatable [default: the config's, else the sample benchmark]")
    parser.add_argument("--benchmarks-dir", help="folder of the registry's benchmark files")
    parser.add_argument("--tokenizer", help="Hugging Face tokenizer.json to use instead of training one")
    parser.add_argument("--source", help="one token source of every clean document, named so "
                                         "[default: the config's sources, else one named web]")
    parser.add_argument("--seq-len", type=int, help="tokens per mixed sequence [default: the config's, 1024]")
    parser.add_argument("--seed", type=int, help="seed of the mixture [default: the config's, 1234]")
    parser.add_argument("--documents", help="with --from filter: documents to start from instead of the run "
                                            "folder's docs/ (Parquet, JSON Lines, a Hugging Face dataset folder; "
                                            "docs/formats.md)")
    add_column_flags(parser)
    parser.add_argument("--from", dest="first", choices=STAGE_ORDER,
                        help="first stage to run; earlier outputs must be complete")
    parser.add_argument("--until", dest="last", choices=STAGE_ORDER, help="last stage to run")
    parser.add_argument("--quiet", action="store_true", help="errors only: no Spark progress bar, no per-stage lines")
    parser.add_argument("--force", action="store_true", help="recompute every stage that runs")
    return parser.parse_args(argv)


def resolve(args: argparse.Namespace) -> PipelineConfig:
    """The config file with the flags applied over its top-level keys."""
    config = load_pipeline_config(args.config)
    updates = {key: value for key, value in (("input", args.input), ("output", args.output),
                                            ("seq_len", args.seq_len), ("seed", args.seed)) if value is not None}
    if args.source:
        updates["sources"] = {args.source: SourceSelection()}
    config = config.model_copy(update=updates)
    if args.documents and args.first != "filter":
        raise ConfigError(f"--documents {args.documents} starts the pipeline at filter: give --from filter with it")
    if not config.input and not args.documents:
        raise ConfigError("the pipeline needs WARC input: give --input PATH or `input:` in the config file")
    if not config.output:
        raise ConfigError("the pipeline needs a run folder: give --output PATH or `output:` in the config file")
    return config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = resolve(args)
    first, last = STAGE_ORDER.index(args.first or STAGE_ORDER[0]), STAGE_ORDER.index(args.last or STAGE_ORDER[-1])
    if first > last:
        raise UserError(f"--from {args.first} comes after --until {args.last}; stages run in the order "
                        f"{' -> '.join(STAGE_ORDER)}")
    check_stage_outputs(config, [args.documents] if args.documents else [])  # before any stage starts Spark
    spark = get_spark("dataflow-pipeline", progress=not args.quiet and sys.stderr.isatty())
    if not args.quiet:
        return run(args, config, first, last)
    spark.sparkContext.setLogLevel("ERROR")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        return run(args, config, first, last)
    finally:
        root.setLevel(level)


def check_stage_outputs(config: PipelineConfig, documents: list[str]) -> None:
    """Refuse the run folder when a stage folder in it is, holds or lies in an input (dataflow/stage.py)."""
    check_run_folder(config.output.rstrip("/"))
    for name in STAGE_ORDER:
        for source in config.sources if name == "tokenize" else [""]:
            check_output(stage_folder(name, config.output, source=source, mixture=mixture_name(config)),
                         [*config.input, *documents], stage=name)


def run(args: argparse.Namespace, config: PipelineConfig, first: int, last: int) -> int:
    """Every stage from index `first` to `last` of STAGE_ORDER, then the funnel."""
    out = config.output.rstrip("/")
    folder = {name: stage_folder(name, out, mixture=mixture_name(config)) for name in STAGE_ORDER if name != "tokenize"}
    force = args.force

    def stage(name: str, output: str, call: Callable[[str], int]) -> None:
        """Run stage `name` into `output` through its job's typed `run` (jobs/common/arguments.py)."""
        if not first <= STAGE_ORDER.index(name) <= last:
            return
        started = time.time()
        code = call(output)
        if code:
            raise SystemExit(code)
        if not args.quiet:
            print(progress_line(name, output, started), flush=True)

    def documents(path: str, output: str, columns: ColumnMapping = ColumnMapping()) -> DocumentsOptions:
        return DocumentsOptions(input=path, output=output, force=force, columns=columns)

    # The quality gate judges by the filter section applied next; by default only where it costs nothing
    # more (the language pre-filter already pays for the Resiliparse text and the language guess).
    gate = (config.extract.quality_prefilter is None and first <= STAGE_ORDER.index("filter") <= last
            and bool(config.extract.keep_languages) and config.extract.language_prefilter_min_score is not None)
    extract_config = with_overrides(config.extract, {"quality_prefilter": True} if gate else {})
    stage("extract", folder["extract"], lambda output: extract.run(
        extract.ExtractOptions(input=tuple(config.input), output=output, force=force), extract_config, config.filter))
    stage("filter", folder["filter"], lambda output: filter_stage.run(
        documents(args.documents or folder["extract"], output, column_mapping(args)), config.filter))
    stage("dedup", folder["dedup"], lambda output: dedup.run(
        dedup.DedupOptions(input=folder["filter"], output=output, force=force), config.dedup))
    clean_input = folder["dedup"]
    model = args.quality_model or config.classify.model
    if model:
        classify_config = with_overrides(config.classify, {"model": model})
        stage("classify", folder["classify"],
              lambda output: classify.run(documents(folder["dedup"], output), classify_config))
        clean_input = folder["classify"]
    names = benchmarks(args, config)
    decontaminate_config = with_overrides(config.decontaminate, {
        **({"benchmarks": names} if names else {}),
        **({"benchmarks_dir": args.benchmarks_dir} if args.benchmarks_dir else {})})
    stage("decontaminate", folder["decontaminate"],
          lambda output: decontaminate.run(documents(clean_input, output), decontaminate_config))
    tokenizer = args.tokenizer or f"{folder['tokenizer']}/{TOKENIZER_FILE}"
    if args.tokenizer is None:
        stage("tokenizer", folder["tokenizer"],
              lambda output: train_tokenizer.run(documents(folder["decontaminate"], output), config.tokenizer))
    for source, selection in config.sources.items():
        tokenize_config = with_overrides(config.tokenize, {"tokenizer": tokenizer, "source": source,
                                                           **({"languages": selection.languages}
                                                              if selection.languages else {})})
        stage("tokenize", stage_folder("tokenize", out, source=source),
              lambda output: tokenize_docs.run(documents(folder["decontaminate"], output), tokenize_config))
    if first <= STAGE_ORDER.index("mix") <= last:
        mixture = write_mixture(f"{out}/mixture.yaml", config, out)
        stage("mix", folder["mix"], lambda output: mix.run(mix.MixOptions(mixture=mixture, output=output, force=force),
                                                           config.mix))
    funnel = write_funnel(out)
    if not args.quiet:
        print("\n".join(["funnel", *render_table(funnel)]))
        log.warning("pipeline: done; funnel in %s/%s; `dataflow report %s` draws it, `dataflow inspect %s` lists "
                    "every output", out, FUNNEL_FILE, out, out)
    return 0


def progress_line(name: str, output: str, started: float) -> str:
    """`[3/8] dedup: 1,204 rows in, 1,032 out, 61 rows/s in 19.7s -> out/deduped`, from its stats.json
    (a line per stage; within a stage, Spark's progress bar shows tasks done on a terminal)."""
    position = f"[{STAGE_ORDER.index(name) + 1}/{len(STAGE_ORDER)}] {name}"
    if "://" in output and not output.startswith("file://"):
        return f"{position}: done -> {output}"
    folder = output.removeprefix("file://")
    stats = read_stats(folder)
    rows = stats.get("rows_in", stats.get("documents"))
    seconds = stats.get("seconds") or 0.0
    if rows is None:  # mix: no document rows, only tokens
        return f"{position}: {stats.get('tokens', 0):,} tokens in {seconds:.1f}s -> {output}"
    rate = f"{rows / seconds:,.1f} rows/s" if seconds else "-"
    reused = " (reused: complete and current)" if os.stat(Path(folder) / STATS_FILE).st_mtime < started else ""
    return (f"{position}: {rows:,} rows in, {stats.get('rows_out', stats.get('documents', rows)):,} out, {rate} "
            f"in {seconds:.1f}s{reused} -> {output}")


def benchmarks(args: argparse.Namespace, config: PipelineConfig) -> list[str]:
    """--benchmark, else the config's, else the sample benchmark (its questions and answers)."""
    if args.benchmark:
        return args.benchmark
    if config.decontaminate.benchmarks:
        return []  # the config's, read by the stage itself
    return [f"sample={sample_benchmark(config.output)}:question,answer"]


def sample_benchmark(out: str) -> Path:
    """The sample benchmark's file; when the code runs from a zip (`spark-submit --py-files`) it is
    no file, and is written into the run folder first (only when it changes: reruns stay current)."""
    path = benchmark_path()
    if path.is_file():
        return path
    copy = Path(out.removeprefix("file://").rstrip("/")) / path.name
    text = resources.files("dataflow.samples").joinpath(path.name).read_text(encoding="utf-8")
    if not copy.is_file() or copy.read_text(encoding="utf-8") != text:
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text, encoding="utf-8")
    return copy


def mixture_name(config: PipelineConfig) -> str:
    return "+".join(config.sources)


def write_mixture(path: str, config: PipelineConfig, out: str) -> str:
    """The mixture of the config's sources at their weights, as large as no source's max_epochs allows.

    A source with weight share s and W windows of seq_len targets (`TokenDataset.num_windows`,
    as the mix stage counts them) supports at most W * seq_len * max_epochs / s tokens; the
    mixture takes the smallest of these. Written only when it changes, so that a rerun finds
    the mix stage current.
    """
    total_weight = sum(selection.weight for selection in config.sources.values())
    budgets = {}
    for source, selection in config.sources.items():
        tokens = stage_folder("tokenize", out, source=source)
        windows = TokenDataset.open(split_path(tokens, "train")).num_windows(config.seq_len)
        if windows == 0:
            raise UserError(f"pipeline: {tokens} holds no training window of {config.seq_len + 1} tokens; give more "
                            "input, a smaller --seq-len, or more languages to this source")
        budgets[source] = windows * config.seq_len * selection.max_epochs * total_weight / selection.weight
    total = int(min(budgets.values())) // config.seq_len * config.seq_len
    mixture = {"name": mixture_name(config), "total_tokens": total, "seq_len": config.seq_len, "seed": config.seed,
               "sources": {source: {"path": os.path.abspath(stage_folder("tokenize", out, source=source)),
                                    "weight": selection.weight, "max_epochs": selection.max_epochs}
                           for source, selection in config.sources.items()}}
    text = yaml.safe_dump(mixture, sort_keys=False)
    target = Path(path)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return path


def write_funnel(out: str):
    """The funnel through every stage under `out` (dataflow/inspect/funnel.py), written to funnel.json."""
    if "://" in out and not out.startswith("file://"):
        return funnel_table([])  # stats.json files on object storage: `dataflow inspect` after a copy
    table = funnel_table(pipeline_order(Path(out.removeprefix("file://"))))
    rows = [dict(zip(table.columns, row)) for row in table.rows]
    write_text(Path(out.removeprefix("file://")) / FUNNEL_FILE, json.dumps({"stages": rows}, indent=1))
    return table


if __name__ == "__main__":
    sys.exit(main())
