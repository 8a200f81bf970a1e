"""Which proxy recipe separates mixtures best for its cost: seed std against the spread across candidates.

A mixture search decides between candidates whose proxies differ by a few hundredths of a bit per
byte; a proxy whose seed-to-seed noise is as large decides nothing (issue 28's probe: candidates
spanning 0.16 bits/byte, the same mixture varying by up to 0.09 over seeds). For each recipe
(preset, batch and sequence length, learning rate and warmup, width, tokens) at about the same CPU
budget, this trains the first `--mixtures` candidates of the search on the real sources of
`bench/search.py` (web from the real pages through the pipeline, wiki, books; target WikiText-2
test) with `--seeds` seeds each, and prints per recipe:

- seed std: the pooled std over seeds (the root mean of the per-mixture variances);
- spread: the range (max - min) and the std of the mixtures' mean target;
- spread / seed std (range over pooled std; the search's default is the recipe with the largest);
- CPU seconds per proxy (process time of the run, one torch thread each), the target's evaluation SE.

    python -m bench.proxy_recipe --work DIR [--recipes tiny-200k,seq128-200k] [--mixtures 4] [--seeds 3]
                                 [--workers 2]

Sources are built once into `--work` (`bench.search.build_sources`) and reused; each recipe's runs
live in `--work/recipes/<recipe>` and a rerun only runs what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.search import build_sources

RECIPES: dict[str, dict] = {
    # The bench/search.py proxy before this measurement: tiny (d64, 2 layers), 8 x 64 tokens a step.
    "tiny-600k": {"preset": "tiny", "total_tokens": 600_000, "train": {}},
    # The same at a third of the tokens: what a loaded 2-core machine affords per proxy.
    "tiny-200k": {"preset": "tiny", "total_tokens": 200_000, "train": {}},
    # Twice the context and the tokens a step at the same tokens: half the steps, each less noisy.
    "seq128-200k": {"preset": "tiny", "total_tokens": 200_000,
                    "train": {"model": {"seq_len": 128}, "optim": {"lr": 3.0e-3, "warmup_steps": 20}}},
    # A learning rate 3.3x higher: more progress in the same 391 steps, or more noise?
    "lr1e-2-200k": {"preset": "tiny", "total_tokens": 200_000, "train": {"optim": {"lr": 1.0e-2}}},
    # Warmup-stable-decay instead of cosine: the peak learning rate held for 80% of the steps.
    "wsd-200k": {"preset": "tiny", "total_tokens": 200_000, "train": {"optim": {"schedule": "wsd"}}},
    # Twice the width at half the tokens: about the same CPU (the 8k-vocabulary head dominates a step).
    "d128-100k": {"preset": "tiny", "total_tokens": 100_000, "train": {"model": {"d_model": 128}}},
}


def search_config(work: Path, sources: dict[str, Path], recipe: str, mixtures: int, seeds: int, workers: int):
    from trainer.search.searches.mixture_config import MixtureConfig

    spec = RECIPES[recipe]
    return MixtureConfig.model_validate({
        "name": "real", "out_dir": str(work / "recipes" / recipe),
        "sources": {"web": {"path": str(sources["web"]), "max_epochs": 1},
                    "wiki": {"path": str(sources["wiki"]), "max_epochs": 4},
                    "books": {"path": str(sources["books"]), "max_epochs": 4}},
        "target": {"wikitext-test": {"path": str(sources["wikitext-test"]), "weight": 1.0}},
        "final_run": {"total_tokens": 2_500_000},
        "proxy": {"preset": spec["preset"], "total_tokens": spec["total_tokens"], "seeds": seeds,
                  "train": {"device": "cpu", "checkpoint": {"every_steps": 1000}, "log": {"every_steps": 1},
                            **spec["train"]}},
        "candidates": mixtures, "prior": "natural",
        "backend": {"kind": "local", "workers": workers}})


def plan(config) -> list[Path]:
    """The run folders of `config`'s first candidates x seeds, added to its store."""
    from trainer.search.engine.store import RunStore
    from trainer.search.searches.mixture import plan_candidates
    from trainer.search.searches.mixture_inputs import read_inputs

    store = RunStore(config.out_dir)
    return [store.add(spec) for spec in plan_candidates(config, read_inputs(config))[1]]


def measure(config, folders: list[Path]) -> dict:
    """The recipe's figures from its finished runs."""
    from trainer.search.engine.store import RunStore, read_state
    from trainer.search.searches.mixture_inputs import read_inputs

    inputs = read_inputs(config)
    rows = [row for row in RunStore(config.out_dir).rows(config.target_weights) if row["status"] == "done"]
    by_mixture: dict[str, list[float]] = {}
    for row in rows:
        by_mixture.setdefault(row["mixture"], []).append(row["target"])
    means = np.array([np.mean(v) for v in by_mixture.values()])
    seed_std = float(np.sqrt(np.mean([np.var(v, ddof=1) for v in by_mixture.values() if len(v) > 1])))
    done = [folder for folder in folders if read_state(folder).status == "done"]
    return {"runs": len(rows), "failed": len(folders) - len(rows), "steps": inputs.proxy.max_steps,
            "tokens": inputs.proxy.total_tokens, "seed_std": seed_std,
            "range": float(means.max() - means.min()), "spread_std": float(means.std(ddof=1)),
            "ratio": float((means.max() - means.min()) / seed_std),
            "cpu_seconds": float(np.mean([read_state(folder).device_seconds for folder in done])),
            "eval_se": float(np.mean([row["target_se"] for row in rows])),
            "skipped_updates": sum(_events(folder, "spike_skipped") for folder in folders),
            "mixtures": {name: [float(np.mean(v)), float(np.std(v, ddof=1)), len(v)]
                         for name, v in sorted(by_mixture.items())},
            "weights": {row["mixture"]: {k[2:]: round(v, 3) for k, v in row.items() if k.startswith("w_")}
                        for row in rows},
            "final_loss": float(np.mean([_final_loss(folder) for folder in done]))}


def _events(folder: Path, kind: str) -> int:
    path = folder / "events.jsonl"
    if not path.is_file():
        return 0
    return sum(1 for line in path.read_text().splitlines() if json.loads(line)["event"] == kind)


def _final_loss(folder: Path) -> float:
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [row for row in rows if row["kind"] == "train"][-1]["loss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="work folder (sources reused, runs resumed)")
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, of {', '.join(RECIPES)}")
    parser.add_argument("--mixtures", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=8192)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--master local[2] --driver-memory 3g pyspark-shell")
    sources = build_sources(args.work, args.vocab_size)
    from trainer.search.engine import backends
    from trainer.search.engine.store import RunStore

    # Every recipe's runs in one queue, so the workers stay busy across recipes.
    configs = {recipe: search_config(args.work, sources, recipe, args.mixtures, args.seeds, args.workers)
               for recipe in args.recipes.split(",")}
    folders = {recipe: plan(config) for recipe, config in configs.items()}
    todo = [folder for recipe, config in configs.items()
            for folder in RunStore(config.out_dir).unfinished(folders[recipe])]
    started = time.perf_counter()
    backends.run_all(todo, next(iter(configs.values())).backend, max_attempts=1, work_dir=args.work)
    print(f"{len(todo)} proxies run in {time.perf_counter() - started:.0f} s on {args.workers} workers")
    print(f"{'recipe':<12} {'steps':>5} {'tokens':>8} {'runs':>4} {'seed std':>8} {'range':>7} {'spread std':>10} "
          f"{'range/std':>9} {'CPU s/proxy':>11} {'eval SE':>7} {'skips':>5} {'loss':>6}")
    for recipe, config in configs.items():
        figures = measure(config, folders[recipe])
        (Path(config.out_dir) / "figures.json").write_text(json.dumps(figures, indent=1))
        print(f"{recipe:<12} {figures['steps']:>5} {figures['tokens']:>8,} {figures['runs']:>4} "
              f"{figures['seed_std']:>8.4f} {figures['range']:>7.4f} {figures['spread_std']:>10.4f} "
              f"{figures['ratio']:>9.1f} {figures['cpu_seconds']:>11.0f} {figures['eval_se']:>7.4f} "
              f"{figures['skipped_updates']:>5} {figures['final_loss']:>6.3f}", flush=True)
        for name, (mean, std, count) in figures["mixtures"].items():
            print(f"    {name} {figures['weights'][name]}: {mean:.4f} ± {std:.4f} ({count} seeds)")

if __name__ == "__main__":
    main()
