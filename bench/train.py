"""Training throughput per preset: tokens/s, MFU, and the share of step time spent waiting for data.

    python -m bench.train                                # CPU: tiny, gpt-1m, gpt-10m at batch 4
    python -m bench.train --presets gpt-300m --steps 30  # on a GPU: the preset's own batch, compiled

Each preset trains for `--steps` steps on a random-token mixture of two sources written to a
temporary folder with `dataflow.shards` (so the real loader, schedule and memory-mapped reads
are timed), through the real `Trainer`; the first `--skip` steps (compilation, allocator
warm-up) are left out. MFU is against the device's peak (`trainer/mfu.py`): the data-sheet bf16
figure on a known GPU, the measured float32 matmul throughput on a CPU. The data-wait target
is under 1% of the step time. Figures vary run to run; compare runs made side by side.

Spike tracing (issue 16) keeps the per-position loss of every micro-step so that a spiking
batch's loss splits over its documents; the second table times, on each preset's shapes and
side by side, the loss head as one mean cross-entropy and as the per-position loss the trainer
now keeps (forward and backward), and what a spike adds: mapping the step's windows back to
documents with their losses (`dataflow/mix/provenance.py`; these random sources have no
documents/ table, so the id look-up, one filtered Parquet scan, is not in the figure).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from dataflow.mix.provenance import source_roots, stream_documents
from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from trainer.config import TrainConfig, load_train_config
from trainer.metrics import read_jsonl
from trainer.train import Trainer


def write_random_source(root: Path, name: str, num_tokens: int, vocab_size: int, seed: int) -> None:
    root.mkdir(parents=True)
    (root / "tokenizer.json").write_text(f"random tokens below {vocab_size}")
    tokenizer = TokenizerInfo.from_file(root / "tokenizer.json")
    rng = np.random.default_rng(seed)
    for split, tokens in (("train", num_tokens), ("validation", 200_000)):
        docs = ((rng.integers(0, vocab_size - 1, size=1023), 4096) for _ in range(tokens // 1024 + 1))
        write_token_dataset(split_path(root, split), docs, source=name, split=split, tokenizer=tokenizer,
                            vocab_size=vocab_size, eos_id=vocab_size - 1)


def bench_config(preset: str, args: argparse.Namespace, folder: Path) -> TrainConfig:
    overrides = {"preset": preset, "out_dir": str(folder / preset), "max_steps": args.steps, "device": args.device,
                 "eval": {"every_steps": 0, "num_sequences": 1}, "checkpoint": {"every_steps": 0},
                 "log": {"every_steps": 1, "tensorboard": False}, "data": {"mixture": str(folder / "mix.yaml")}}
    if args.batch_size:
        overrides["data"]["batch_size"] = args.batch_size
    if args.compile is not None:
        overrides["compile"] = args.compile
    return load_train_config(None, overrides)


def bench(config: TrainConfig, skip: int) -> dict:
    trainer = Trainer(config)
    try:
        trainer.fit()
    finally:
        trainer.close()
    rows = [row for row in read_jsonl(Path(config.out_dir) / "metrics.jsonl") if row["kind"] == "train"][skip:]
    step_ms = [row["step_ms"] for row in rows]
    return {"trainer": trainer, "preset": config.preset, "params_m": trainer.num_params / 1e6,
            "tokens_per_step": trainer.tokens_per_step,
            "tokens_per_second": statistics.median(row["tokens_per_second"] for row in rows),
            "mfu": statistics.median(row["mfu"] for row in rows), "step_ms": statistics.median(step_ms),
            "data_wait_pct": 100 * sum(row["data_wait_frac"] * row["step_ms"] for row in rows) / sum(step_ms)}


def elapsed_ms(work, clock=time.perf_counter) -> float:
    started = clock()
    work()
    return 1000 * (clock() - started)


def tracing_cost(trainer: Trainer, repeats: int) -> dict:
    """Loss head with one mean vs per-position loss kept (forward + backward), interleaved; the mapping at a spike.

    On a CPU the loss head is timed in CPU seconds of this process, which a busy shared machine
    disturbs less than wall time."""
    c, device = trainer.model_config, trainer.env.device
    rows = trainer.config.data.batch_size
    logits = torch.randn(rows, c.seq_len, c.vocab_size, device=device, requires_grad=True)
    targets = torch.randint(0, c.vocab_size, (rows, c.seq_len), device=device)

    def mean_loss():
        F.cross_entropy(logits.flatten(0, 1), targets.flatten()).backward()
        torch.cuda.synchronize() if device.type == "cuda" else None

    def per_position_loss():
        per_position = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
        per_position.mean().backward()
        kept = per_position.detach().view_as(targets)  # noqa: F841 (what the trainer keeps)
        torch.cuda.synchronize() if device.type == "cuda" else None

    # CPU time of this process on a CPU (other processes' load then counts less), wall time on a GPU.
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    times = {mean_loss: [], per_position_loss: []}
    for repeat in range(repeats):  # interleaved, first one then the other first: both see the same load and caches
        for work in (mean_loss, per_position_loss)[::1 if repeat % 2 else -1]:
            times[work].append(elapsed_ms(work, clock))
    windows = trainer.tokens_per_step // c.seq_len
    losses = np.random.default_rng(0).random((windows, c.seq_len), dtype=np.float32)
    spike_ms = statistics.median(elapsed_ms(lambda: stream_documents(
        trainer.loader.stream, source_roots(trainer.mixture), 0, windows, losses=losses)) for _ in range(5))
    return {"mean_ms": statistics.median(times[mean_loss]),
            "per_position_ms": statistics.median(times[per_position_loss]),
            "spike_ms": spike_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=None,
                        help="presets to time [default: tiny gpt-1m gpt-10m on CPU, "
                        "gpt-20m gpt-85m gpt-300m on GPU]")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--steps", type=int, default=12, help="steps per preset [default: 12]")
    parser.add_argument("--skip", type=int, default=2, help="first steps left out of the figures [default: 2]")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="sequences per micro-batch [default: 4 on CPU, the preset's on GPU]")
    parser.add_argument("--vocab-size", type=int, default=32_000,
                        help="vocabulary of the random tokens [default: 32000]")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile the blocks [default: the preset's on GPU, off on CPU]")
    parser.add_argument("--trace-repeats", type=int, default=40,
                        help="timings per loss-head variant in the spike-tracing table [default: 40]")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads on CPU [default: torch's]")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    on_gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    args.presets = args.presets or (["gpt-20m", "gpt-85m", "gpt-300m"] if on_gpu else ["tiny", "gpt-1m", "gpt-10m"])
    if not on_gpu:
        args.batch_size = args.batch_size or 4
        args.compile = False if args.compile is None else args.compile
    device = torch.cuda.get_device_name() if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device}; torch {torch.__version__}; {args.steps} steps per preset, first {args.skip} left out")
    print(f"{'preset':<10} {'params':>9} {'tokens/step':>12} {'tokens/s':>11} {'MFU':>7} {'step ms':>9} "
          f"{'data wait':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        configs = [bench_config(preset, args, folder) for preset in args.presets]
        tokens = max(args.steps * c.data.batch_size * c.data.grad_accum_steps * (c.model.seq_len + 1) for c in configs)
        for name, share in (("web", 0.7), ("wiki", 0.3)):  # each source holds a whole run: no epoch limit is hit
            write_random_source(folder / name, name, tokens, args.vocab_size, seed=len(name))
        (folder / "mix.yaml").write_text(yaml.safe_dump({"name": "bench", "total_tokens": tokens, "sources": {
            name: {"path": str(folder / name), "weight": share} for name, share in (("web", 0.7), ("wiki", 0.3))}}))
        traced = []
        for config in configs:
            r = bench(config, args.skip)
            traced.append((r["preset"], tracing_cost(r.pop("trainer"), args.trace_repeats)))  # then the model goes
            print(f"{r['preset']:<10} {r['params_m']:>8.1f}M {r['tokens_per_step']:>12,} "
                  f"{r['tokens_per_second']:>11,.0f} "
                  f"{100 * r['mfu']:>6.1f}% {r['step_ms']:>9.1f} {r['data_wait_pct']:>9.2f}%", flush=True)
        print(f"\nspike tracing: loss head per micro-batch (median of {args.trace_repeats}; CPU ms on a CPU), "
              "documents once per spike (wall ms)")
        print(f"{'preset':<10} {'mean loss ms':>13} {'per-position ms':>16} {'extra':>7} {'spike: documents ms':>20}")
        for preset, t in traced:
            extra = 100 * (t["per_position_ms"] / t["mean_ms"] - 1)
            print(f"{preset:<10} {t['mean_ms']:>13.2f} {t['per_position_ms']:>16.2f} {extra:>6.1f}% "
                  f"{t['spike_ms']:>20.1f}", flush=True)


if __name__ == "__main__":
    main()
