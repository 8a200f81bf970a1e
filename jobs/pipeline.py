"""Pipeline: every stage from WARC files to mixed token shards, in one command and one Spark session.

    dataflow run pipeline --input 'out/warc/*.warc.gz' --output out
    dataflow run pipeline --input paths.txt --output out --config pipeline.yaml \\
        --quality-model models/quality.bin --benchmark gsm8k --benchmark mmlu --benchmarks-dir ../shared/data/benchmarks
    spark-submit --py-files dataflow.zip jobs/pipeline.py --input paths.txt --output /shared/run1

extract -> filter -> dedup -> classify (when a quality model is given) -> decontaminate ->
tokenizer train (unless --tokenizer) -> tokenize -> mix, each stage writing its own folder under
--output: docs, filtered, deduped, scored, clean, tokenizer.json, tokens/<source>,
mixture.yaml and shards/<source>. Each stage keeps the stage contract, so a rerun skips every
stage whose output is complete and current and a crashed run resumes at the stage that failed;
`dataflow inspect OUTPUT` shows the funnel through them. The stages are the same jobs
`dataflow run STAGE` runs, given the same --config; use them one by one to branch a variant
from any stage's output.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from dataflow.errors import UserError
from dataflow.pipeline import load_pipeline_config
from dataflow.samples.benchmark import benchmark_path
from dataflow.shards import TokenDataset, split_path
from dataflow.stage import check_output
from jobs import classify
from jobs import decontaminate
from jobs import dedup
from jobs import extract
from jobs import mix
from jobs import tokenize_docs
from jobs import train_tokenizer
from jobs import filter as filter_stage

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dataflow run pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", action="append", required=True,
                        help="WARC files: glob, directory, text file of paths, or warc.paths.gz listing; repeatable")
    parser.add_argument("--output", required=True,
                        help="run folder, one sub-folder per stage; token outputs need a path every executor sees")
    parser.add_argument("--config", help="pipeline YAML file: one section per stage (`dataflow config show`)")
    parser.add_argument("--quality-model", help="fastText quality model: runs classify with the config's "
                                                "cut-off [default: the config's classify.model; none: no classify]")
    parser.add_argument("--benchmark", action="append", default=[],
                        help="benchmark to decontaminate against, as `dataflow run decontaminate` takes it; "
                             "repeatable [default: the config's, else the sample benchmark]")
    parser.add_argument("--benchmarks-dir", help="folder of the registry's benchmark files")
    parser.add_argument("--tokenizer", help="Hugging Face tokenizer.json to use instead of training one")
    parser.add_argument("--source", default="web", help="source name of the token datasets [default: web]")
    parser.add_argument("--seq-len", type=int, default=1024, help="tokens per mixed sequence [default: 1024]")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the mixture [default: 1234]")
    parser.add_argument("--force", action="store_true", help="recompute every stage")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_pipeline_config(args.config)
    out = args.output.rstrip("/")
    for folder in ("docs", "filtered", "deduped", "scored", "clean", f"tokens/{args.source}", f"shards/{args.source}"):
        check_output(f"{out}/{folder}", args.input)  # before any stage starts Spark
    common = [*(["--config", args.config] if args.config else []), *(["--force"] if args.force else [])]

    def stage(job: Callable[[list[str]], int], *stage_args: str) -> None:
        code = job([*stage_args, *common])
        if code:
            raise SystemExit(code)

    stage(extract.main, *[flag for path in args.input for flag in ("--input", path)], "--output", f"{out}/docs")
    stage(filter_stage.main, "--input", f"{out}/docs", "--output", f"{out}/filtered")
    stage(dedup.main, "--input", f"{out}/filtered", "--output", f"{out}/deduped")
    documents = f"{out}/deduped"
    model = args.quality_model or config.classify.model
    if model:
        stage(classify.main, "--input", documents, "--output", f"{out}/scored", "--model", model)
        documents = f"{out}/scored"
    stage(decontaminate.main, "--input", documents, "--output", f"{out}/clean",
          *[flag for name in benchmarks(args, config) for flag in ("--benchmark", name)],
          *(["--benchmarks-dir", args.benchmarks_dir] if args.benchmarks_dir else []))
    tokenizer = args.tokenizer or f"{out}/tokenizer.json"
    if args.tokenizer is None and (args.force or not os.path.exists(tokenizer)):
        stage(train_tokenizer.main, "--input", f"{out}/clean", "--output", tokenizer)
    tokens = f"{out}/tokens/{args.source}"
    stage(tokenize_docs.main, "--input", f"{out}/clean", "--output", tokens, "--tokenizer", tokenizer,
          "--source", args.source)
    mixture = write_mixture(f"{out}/mixture.yaml", args.source, tokens, args.seq_len, args.seed)
    stage(mix.main, "--mixture", mixture, "--output", f"{out}/shards/{args.source}")
    log.warning("pipeline: done; `dataflow inspect %s` shows the funnel, `dataflow inspect %s/shards/%s --decode 2` "
                "the product", out, out, args.source)
    return 0


def benchmarks(args: argparse.Namespace, config) -> list[str]:
    """--benchmark, else the config's, else the sample benchmark (its questions and answers)."""
    if args.benchmark:
        return args.benchmark
    if config.decontaminate.benchmarks:
        return []  # the config's, read by the stage itself
    return [f"sample={benchmark_path()}:question,answer"]


def write_mixture(path: str, source: str, tokens: str, seq_len: int, seed: int) -> str:
    """A one-source mixture taking one epoch of the source's training tokens: every window of
    seq_len targets the source holds (`TokenDataset.num_windows`, as the mix stage counts them).
    Written only when it changes, so that a rerun finds the mix stage current.
    """
    windows = TokenDataset.open(split_path(tokens, "train")).num_windows(seq_len)
    if windows == 0:
        raise UserError(f"pipeline: {tokens} holds no training window of {seq_len + 1} tokens; give more input "
                        "or a smaller --seq-len")
    mixture = {"name": source, "total_tokens": windows * seq_len, "seq_len": seq_len, "seed": seed,
               "sources": {source: {"path": os.path.abspath(tokens), "weight": 1.0, "max_epochs": 1}}}
    text = yaml.safe_dump(mixture, sort_keys=False)
    target = Path(path)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
