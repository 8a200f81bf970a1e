"""Tokenization throughput: our Spark tokenize job vs plain `tokenizers` vs datatrove, one run.

All three encode the same documents (the 1,695 real pages of ../shared/data/html, repeated
`--copies` times with distinct ids) with the same byte-level BPE tokenizer.json (trained
here on those pages, or `--tokenizer`), EOS after every document:

- ours: `dataflow run tokenize` (Spark local[N]: Parquet in, id-hash split and shards,
  tiktoken (or `encode_batch_fast` when it cannot be exact) inside mapInArrow in the input's
  partitions, token arrays shuffled to one task per shard, shards written by the tasks,
  documents/ table, manifests), end to end and without the JVM start;
- plain: `Tokenizer.encode_batch` and tiktoken built from the same file, batches of 1,000
  documents in one thread (the ceilings for a single core, no I/O);
- datatrove 0.10.1 in its own venv: JsonlReader -> DocumentTokenizer (its defaults: shuffled
  documents, EOS by post-processor) with N tasks and N workers.

It prints tokens/s per core for each and checks that ours and datatrove's produced the same
number of tokens. datatrove runs from the interpreter in DATATROVE_PYTHON (a venv with
bench/peers.py says how to make it).

    python -m bench.tokenize_docs [--cores 2] [--copies 3] [--repeat 2] [--vocab-size 32000] [--tokenizer tok.json]

Ours and datatrove run alternately `--repeat` times and the best run of each is reported, by
wall clock (tokens / seconds / cores) and by CPU seconds of the process tree, which holds
better when other work shares the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.peak_memory import run_measured
from bench.peers import datatrove_problem, datatrove_python
from dataflow.shards import TokenizerInfo
from dataflow.tokenize.tiktoken_bpe import encode_texts, exact_encoding
from dataflow.tokenize.tokenizer import TokenizerTrainConfig, save_tokenizer, train_byte_level_bpe
from bench.common.real_pages import real_texts, write_documents

REPO = Path(__file__).resolve().parents[1]

SHARED = Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO.parent / "shared" / "data"))
BATCH = 1000

DATATROVE_SCRIPT = textwrap.dedent("""
    import sys
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    if __name__ == "__main__":
        jsonl_dir, out_dir, logs, tokenizer, tasks = sys.argv[1:6]
        LocalPipelineExecutor(
            pipeline=[
                JsonlReader(jsonl_dir, glob_pattern="*.jsonl"),
                DocumentTokenizer(out_dir, tokenizer_name_or_path=tokenizer, eos_token="<|endoftext|>"),
            ],
            tasks=int(tasks), workers=int(tasks), logging_dir=logs,
        ).run()
""")


def build_inputs(work: Path, copies: int, cores: int) -> list[dict]:
    pages = real_texts(SHARED)
    docs = [{**page, "id": f"{page['id']}-{copy}"} for copy in range(copies) for page in pages]
    write_documents(work / "docs", docs, parts=cores)
    jsonl = work / "jsonl"
    jsonl.mkdir()
    for part in range(cores):
        with open(jsonl / f"part-{part}.jsonl", "w", encoding="utf-8") as f:
            for doc in docs[part::cores]:
                f.write(json.dumps({"id": doc["id"], "text": doc["text"]}, ensure_ascii=False) + "\n")
    return docs


def measured(command: list[str], **popen_kwargs) -> dict:
    run = run_measured(command, **popen_kwargs)
    return {"wall_seconds": run.seconds, "cpu_seconds": run.cpu_seconds, "peak_bytes": run.peak_bytes}


def run_ours(work: Path, tokenizer: Path, cores: int) -> dict:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(REPO),  # this checkout, driver and workers
           "PYSPARK_SUBMIT_ARGS": f"--master local[{cores}] pyspark-shell"}
    out = work / "ours"
    run = measured([sys.executable, "-m", "dataflow", "run", "tokenize", "--input", str(work / "docs"),
                    "--tokenizer", str(tokenizer), "--output", str(out), "--force"], env=env, cwd=REPO)
    stats = json.loads((out / "stats.json").read_text())
    return {**run, "stage_seconds": stats["seconds"], "tokens": stats["tokens"]}


def run_plain(docs: list[dict], tokenizer: Path) -> dict:
    """One thread, no I/O: TOKENIZERS_PARALLELISM is read at every call."""
    from tokenizers import Tokenizer

    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    encoder = Tokenizer.from_file(str(tokenizer))
    return time_encoder(docs, lambda texts: [encoding.ids for encoding in encoder.encode_batch(texts)])


def run_tiktoken(docs: list[dict], tokenizer: Path) -> dict:
    """One thread, no I/O, the encoding the tokenize job builds (None when it cannot be exact)."""
    encoding, refusal = exact_encoding(str(tokenizer), TokenizerInfo.from_file(tokenizer).sha256)
    if encoding is None:
        print(f"tiktoken: not exact for this tokenizer ({refusal})")
        return None
    return time_encoder(docs, lambda texts: encode_texts(encoding, texts))


def time_encoder(docs: list[dict], encode) -> dict:
    texts = [doc["text"] for doc in docs]
    started, cpu_started, tokens = time.perf_counter(), time.process_time(), 0
    for start in range(0, len(texts), BATCH):
        tokens += sum(len(ids) + 1 for ids in encode(texts[start:start + BATCH]))
    return {"wall_seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started,
            "tokens": tokens}


def run_datatrove(python: str, work: Path, tokenizer: Path, cores: int) -> dict:
    script = work / "datatrove_tokenize.py"
    script.write_text(DATATROVE_SCRIPT)
    out = work / "datatrove_out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / "datatrove_logs", ignore_errors=True)  # else datatrove skips the tasks it completed
    run = measured([python, str(script), str(work / "jsonl"), str(out), str(work / "datatrove_logs"),
                    str(tokenizer), str(cores)])
    tokens = sum(path.stat().st_size for path in out.glob("*.ds")) // 2  # uint16 ids (vocabulary <= 65536)
    return {**run, "tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--copies", type=int, default=3, help="times the 1,695 pages are repeated (distinct ids)")
    parser.add_argument("--vocab-size", type=int, default=32000, help="vocabulary of the tokenizer trained here")
    parser.add_argument("--tokenizer", type=Path, help="a tokenizer.json with <|endoftext|> instead of training one")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of ours and datatrove, alternated; the best is shown")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-tokenize-"))
    docs = build_inputs(work, args.copies, args.cores)
    tokenizer = args.tokenizer
    if tokenizer is None:
        tokenizer = work / "tokenizer.json"
        pages = docs[:len(docs) // args.copies]
        save_tokenizer(train_byte_level_bpe((doc["text"] for doc in pages), TokenizerTrainConfig(
            vocab_size=args.vocab_size)), tokenizer)
    text_mb = sum(len(doc["text"].encode()) for doc in docs) / 1e6
    print(f"{len(docs):,} documents ({text_mb:.1f} MB of text), tokenizer {tokenizer.name} "
          f"(vocab {args.vocab_size if args.tokenizer is None else '?'}), {args.cores} cores")
    runs = {"ours": [], "datatrove": []}
    for _ in range(args.repeat):  # alternated, so that both see the same load on a shared machine
        runs["ours"].append(run_ours(work, tokenizer, args.cores))
        if not datatrove_problem():
            runs["datatrove"].append(run_datatrove(datatrove_python(), work, tokenizer, args.cores))
    plain, fast = run_plain(docs, tokenizer), run_tiktoken(docs, tokenizer)
    ours = min(runs["ours"], key=lambda run: run["wall_seconds"])
    peer = min(runs["datatrove"], key=lambda run: run["wall_seconds"]) if runs["datatrove"] else None

    def rate(run, seconds_key, cores):
        return run["tokens"] / run[seconds_key] / cores / 1e3

    print(f"best of {args.repeat} runs each; tokens/s per core, by wall clock x cores and by CPU seconds used")
    print(f"ours      : {rate(ours, 'wall_seconds', args.cores):7.1f}k wall ({ours['wall_seconds']:.1f} s; "
          f"{rate(ours, 'stage_seconds', args.cores):.1f}k without JVM start), {rate(ours, 'cpu_seconds', 1):7.1f}k "
          f"CPU ({ours['cpu_seconds']:.1f} CPU s); {ours['tokens']:,} tokens; "
          f"peak {ours['peak_bytes'] / 2**30:.2f} GiB")
    print(f"plain     : {rate(plain, 'wall_seconds', 1):7.1f}k wall (encode_batch, 1 thread, "
          f"{plain['wall_seconds']:.1f} s), {rate(plain, 'cpu_seconds', 1):7.1f}k CPU; {plain['tokens']:,} tokens")
    if fast is not None:
        print(f"tiktoken  : {rate(fast, 'wall_seconds', 1):7.1f}k wall (1 thread, {fast['wall_seconds']:.1f} s), "
              f"{rate(fast, 'cpu_seconds', 1):7.1f}k CPU; {fast['tokens']:,} tokens")
    if peer is None:
        print(f"datatrove : not run ({datatrove_problem()})")
    else:
        print(f"datatrove : {rate(peer, 'wall_seconds', args.cores):7.1f}k wall ({peer['wall_seconds']:.1f} s), "
              f"{rate(peer, 'cpu_seconds', 1):7.1f}k CPU ({peer['cpu_seconds']:.1f} CPU s); {peer['tokens']:,} tokens; "
              f"peak {peer['peak_bytes'] / 2**30:.2f} GiB")
        print(f"ratio     : ours / datatrove = {peer['wall_seconds'] / ours['wall_seconds']:.2f}x wall, "
              f"{peer['wall_seconds'] / ours['stage_seconds']:.2f}x wall without our JVM start, "
              f"{peer['cpu_seconds'] / ours['cpu_seconds']:.2f}x CPU; "
              f"same token count: {peer['tokens'] == ours['tokens']}")
    print("all runs (wall s, CPU s): " + "; ".join(
        f"{name} " + ", ".join(f"({run['wall_seconds']:.1f}, {run['cpu_seconds']:.1f})" for run in done)
        for name, done in runs.items()))
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
