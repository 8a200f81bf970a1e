"""Train a GPT proxy on a data mixture.

    dataflow train --config runs/proxy-20m.yaml                          # one process, CPU or GPU
    torchrun --nproc-per-node 8 -m trainer.train --config runs/350m.yaml   # DDP, or FSDP2 with parallel: fsdp
    dataflow train --config runs/proxy-20m.yaml --resume                   # after a crash

`main(argv)` is the one entry point (the `dataflow train` command calls it); `train(config)`
does the work. The loop body keeps nanoGPT's order: learning rate, evaluation and checkpoint
when due, micro-steps, clip, spike guard, optimizer step, log.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
import yaml

from dataflow.config import add_model_flags, flag_overrides
from dataflow.errors import ConfigError, InputError, UserError
from dataflow.mix.mixture import load_mixture, open_sources, plan_mixture
from dataflow.mix.provenance import source_roots, stream_documents
from dataflow.shards import TokenDataset
from dataflow.stage import check_apart
from trainer import checkpoint
from trainer.checkpoint import Checkpointer
from trainer.config import TrainConfig, load_train_config
from trainer.data import Batch, MixtureLoader
from trainer.evaluate import Evaluator, SourceEval, open_eval_datasets
from trainer.guard import Judgement, SpikeGuard, Verdict
from trainer.metrics import MetricsLog
from trainer.mfu import mfu, peak_flops
from trainer.model import GPT
from trainer.optim import apply_hyperparameters, build_optimizer, lr_at
from trainer.parallel import (autocast, clip_grad_norm, init_distributed, mean_across_ranks, parallelize,
                              set_gradient_sync)

log = logging.getLogger("trainer")


class TrainingDiverged(UserError):
    """Loss spikes persisted through the rollbacks the guard allows."""


class Trainer:
    """Builds everything from a `TrainConfig`, then `fit` runs the loop (Stateful through checkpoints)."""

    def __init__(self, config: TrainConfig, resume: bool = False, allow_config_change: bool = False):
        self.config, self.env = config, init_distributed(config.device, config.collective_timeout_seconds)
        self.run_dir = Path(config.out_dir)
        self.bf16 = config.bf16 and self.env.device.type == "cuda"
        self._build_data()
        torch.manual_seed(config.seed)  # same initial weights on every rank
        with self.env.device:
            model = GPT(self.model_config)
        self.num_params, self.flops_per_token = model.num_params(), model.flops_per_token()
        self.model = parallelize(model, config.parallel, self.bf16, config.compile, self.env)
        self.optimizer = build_optimizer(self.model, config.optim, fused=self.env.device.type == "cuda")
        self.guard = SpikeGuard(config.guard, warmup_steps=config.optim.warmup_steps)
        self.checkpointer = Checkpointer(config.checkpoint.dir or self.run_dir / "checkpoints",
                                         config.checkpoint.keep_last, self.env.is_main)
        self.step = self.saved_step = self.rollbacks = 0
        started = self._restore_or_branch(resume, allow_config_change)
        self.peak_flops, peak_source = peak_flops(self.env.device)
        if self.env.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        self.metrics = MetricsLog(self.run_dir, config.log, config.model_dump(mode="json"), enabled=self.env.is_main,
                                  start_step=self.step, max_steps=config.max_steps)
        self._announce(started, peak_source)

    def _build_data(self) -> None:
        """Open the mixture's sources, size the model's vocabulary to them, plan and start the streams."""
        config, env = self.config, self.env
        self.mixture = load_mixture(config.data.mixture)
        train_sets, validation_sets = open_sources(self.mixture, "train"), open_sources(self.mixture, "validation")
        sources = [str(spec.path) for spec in self.mixture.sources.values()]
        # Before anything is written. The mixture file may live in out_dir (a search writes each run's
        # there); the trainer only adds files to out_dir and never deletes beside its checkpoints.
        check_apart(config.out_dir, sources, "out_dir")
        if config.checkpoint.dir is not None:
            check_apart(config.checkpoint.dir, sources, "checkpoint.dir")
        validation_sets = _held_out(validation_sets) | open_eval_datasets(config.eval.datasets, set(validation_sets))
        if not validation_sets:
            raise ConfigError("nothing to evaluate: no source holds out validation documents (tokenized with "
                              "--validation-frac 0) and eval.datasets is empty; give eval.datasets or re-tokenize "
                              "a source with --validation-frac above 0")
        for dataset in (*train_sets.values(), *validation_sets.values()):
            dataset.verify(cached=True)  # same-size corruption: an error naming the shard, not a device assert
        vocab_size = _shared_vocab_size({**train_sets, **{f"{n} (validation)": d for n, d in validation_sets.items()}})
        self.model_config = config.model.model_copy(
            update={"vocab_size": config.model.vocab_size or 64 * math.ceil(vocab_size / 64)})
        if self.model_config.vocab_size < vocab_size:
            raise ConfigError(f"model.vocab_size {self.model_config.vocab_size} is below the datasets' {vocab_size}; "
                              "raise it or leave it unset")
        seq_len, data = self.model_config.seq_len, config.data
        self.tokens_per_step = data.batch_size * data.grad_accum_steps * env.world_size * seq_len
        self.plan = plan_mixture(self.mixture, {name: d.num_tokens for name, d in train_sets.items()},
                                 total_tokens=config.max_steps * self.tokens_per_step)
        self.loader = MixtureLoader(train_sets, self.mixture.shares, seq_len=seq_len, batch_size=data.batch_size,
                                    seed=self.mixture.seed, rank=env.rank, world_size=env.world_size,
                                    pin_memory=env.device.type == "cuda")
        self.evaluator = Evaluator(validation_sets, seq_len=seq_len, config=config.eval,
                                   rank=env.rank, world_size=env.world_size)

    def _restore_or_branch(self, resume: bool, allow_config_change: bool) -> str:
        latest = self.checkpointer.latest()
        if latest is not None and not resume:
            newest = Path(str(latest)).name
            raise ConfigError(f"{self.checkpointer.folder} already holds checkpoints (newest {newest}); "
                              "pass --resume to continue that run, or choose another out_dir (or checkpoint.dir)")
        if latest is not None:
            path, states = self.checkpointer.read_newest()
            _check_schedule(states["trainer.pt"].get("config"), self.config, path, allow_config_change)
        elif self.config.checkpoint.init_from is not None:
            path = checkpoint.resolve(self.config.checkpoint.init_from)
            states = checkpoint.read(path)
        else:
            return "from scratch" + (" (--resume found no checkpoint)" if resume else "")
        saved = states["trainer.pt"]
        if saved["model_config"] != self.model_config.model_dump(mode="json"):
            changed = {key: (value, getattr(self.model_config, key)) for key, value in saved["model_config"].items()
                       if getattr(self.model_config, key) != value}
            raise ConfigError(f"checkpoint {path} holds a model with other settings (saved, configured): {changed}; "
                              "set model to match it")
        checkpoint.restore(states, self.model, self.optimizer)
        apply_hyperparameters(self.optimizer, self.config.optim)  # a branch may change them
        if latest is None:
            return f"branched from {path} (weights and optimizer moments; new data stream and schedule)"
        self.step = self.saved_step = saved["step"]
        self.loader.load_state_dict(saved["data"])
        self.guard.load_state_dict(saved["guard"])
        self.rollbacks = saved["rollbacks"]
        return f"resumed from {path}"

    def _announce(self, started: str, peak_source: str) -> None:
        if not self.env.is_main:
            return
        c = self.model_config
        log.info("model: %.2fM parameters (d_model %d, %d layers, %d heads, vocab %d), %.3g FLOPs per token",
                 self.num_params / 1e6, c.d_model, c.num_layers, c.num_heads, c.vocab_size, self.flops_per_token)
        log.info("tokens per step: %d (%d sequences x %d micro-batches x %d ranks x %d tokens)", self.tokens_per_step,
                 self.config.data.batch_size, self.config.data.grad_accum_steps, self.env.world_size, c.seq_len)
        log.info("mixture %s: %d tokens over %d steps (the mixture's total_tokens, %d, is for the mix job)",
                 self.mixture.name, self.config.max_steps * self.tokens_per_step, self.config.max_steps,
                 self.mixture.total_tokens)
        for name, plan in self.plan.items():
            log.info("source %s: share %.3f, %d of %d tokens (%.3g epochs)", name, plan.share, plan.tokens,
                     plan.available_tokens, plan.epochs)
        if self.mixture.seq_len != c.seq_len:
            log.warning("mixture %s has seq_len %d; the trainer draws windows of model.seq_len %d",
                        self.mixture.name, self.mixture.seq_len, c.seq_len)
        log.info("device %s, %s; MFU against %.3g FLOP/s (%s)", self.env.device, "bf16" if self.bf16 else "fp32",
                 self.peak_flops, peak_source)
        self.metrics.event(self.step, "start", f"training {started}, steps {self.step} to {self.config.max_steps}",
                           data_position=self.loader.position, windows_per_step=self.tokens_per_step // c.seq_len)

    def fit(self, until_step: int | None = None) -> dict[str, SourceEval]:
        """Train to `max_steps` (or stop early at `until_step`); return the last evaluation."""
        config, results = self.config, {}
        stop = config.max_steps if until_step is None else min(until_step, config.max_steps)
        while True:
            lr = lr_at(self.step, config.max_steps, config.optim)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            if _due(self.step, config.eval.every_steps, config.max_steps):
                results = self.evaluate()
            # Never during a spike streak: a rollback must land before the streak began.
            if (self.step != self.saved_step and self.guard.consecutive == 0
                    and _due(self.step, config.checkpoint.every_steps, config.max_steps)):
                self.save()
            if self.step >= stop:
                return results
            self._train_step(lr)

    def _train_step(self, lr: float) -> None:
        started, data_seconds = time.perf_counter(), 0.0
        window_start = self.loader.position
        loss_sum = torch.zeros((), device=self.env.device)
        position_losses = []  # (B, T) per micro-step, kept (not copied) for the guard's event
        for micro_step in range(self.config.data.grad_accum_steps):
            fetch = time.perf_counter()
            positions = self.loader.rank_positions(self.loader.position)
            batch = self.loader.next_batch()
            if self.config.data.record_reads:
                self._record_reads(positions, batch)
            inputs, targets = (t.to(self.env.device, non_blocking=True) for t in (batch.inputs, batch.targets))
            data_seconds += time.perf_counter() - fetch
            set_gradient_sync(self.model, micro_step == self.config.data.grad_accum_steps - 1)
            with autocast(self.model, self.env.device, self.bf16):
                logits = self.model(inputs)  # (B, T, V)
            # Per position, so a spiking batch's loss splits over its documents at no extra cost.
            per_position = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none")
            loss = per_position.mean()
            (loss / self.config.data.grad_accum_steps).backward()
            loss_sum += loss.detach()
            position_losses.append(per_position.detach().view_as(targets))
        # The guard needs the loss on the host: one synchronisation per step.
        loss = mean_across_ranks(loss_sum / self.config.data.grad_accum_steps)
        grad_norm = clip_grad_norm(self.model, self.config.optim.grad_clip)
        judgement = self.guard.judge(loss, grad_norm)
        if judgement.verdict is Verdict.OK:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - started
        step, self.step = self.step, self.step + 1
        if judgement.verdict is not Verdict.OK:
            self._spike(step, judgement, loss, grad_norm, window_start, position_losses)
        self.metrics.progress_to(self.step, loss, lr)
        if step % self.config.log.every_steps == 0 or self.step == self.config.max_steps:
            tokens_per_second = self.tokens_per_step / seconds
            self.metrics.log(step, "train", {
                "loss": loss, "lr": lr, "grad_norm": grad_norm, "tokens_per_second": tokens_per_second,
                "mfu": mfu(self.flops_per_token, tokens_per_second, self.peak_flops, self.env.world_size),
                "step_ms": 1000 * seconds, "data_wait_frac": data_seconds / seconds,
                "tokens": self.loader.tokens_per_source()})

    def _spike(self, step: int, judgement: Judgement, loss: float, grad_norm: float, window_start: int,
               position_losses: list[torch.Tensor]) -> None:
        window = [window_start, self.loader.position]
        sources = self._sources(*window)
        losses = self._batch_losses(position_losses)  # a collective: every rank takes part
        documents = stream_documents(self.loader.stream, source_roots(self.mixture), *window,
                                     losses=losses) if self.env.is_main else []
        worst = f"; worst document {_document_name(documents[0])} (mean loss {documents[0]['mean_loss']:.3g})" \
            if documents else ""
        message = (f"skipped the update: loss {loss:.4g} (z {judgement.loss_z:.1f}), grad norm {grad_norm:.4g} "
                   f"(z {judgement.grad_norm_z:.1f}); batch from {sources}{worst}")
        self.metrics.event(step, "spike_skipped", message, level=logging.WARNING, loss=loss, grad_norm=grad_norm,
                           loss_z=judgement.loss_z, grad_norm_z=judgement.grad_norm_z, data_window=window,
                           sources=sources, num_documents=len(documents),
                           documents=documents[:self.config.guard.max_event_documents])
        if judgement.verdict is Verdict.ROLLBACK:
            self._rollback(step)

    def _rollback(self, step: int) -> None:
        """Back to the newest checkpoint; the data stream goes on, skipping what was read since."""
        latest, limit = self.checkpointer.latest(), self.config.guard.max_rollbacks
        if latest is None or self.rollbacks >= limit:
            why = "no checkpoint to roll back to" if latest is None else f"max_rollbacks {limit} already used"
            raise TrainingDiverged(f"training diverged at step {step}: {self.guard.consecutive} spikes in a row "
                                   f"and {why}; lower optim.lr or raise optim.warmup_steps (events.jsonl "
                                   f"in {self.run_dir} names the sources of the spiking batches)")
        latest, states = self.checkpointer.read_newest()  # never one that fails verification: the one before it
        checkpoint.restore(states, self.model, self.optimizer)
        saved = states["trainer.pt"]
        skipped = [saved["data"]["position"], self.loader.position]
        sources = self._sources(*skipped)
        self.metrics.event(step, "rollback", f"rolled back to {latest.name}; skipping data window {skipped} from "
                           f"{sources}", level=logging.WARNING, checkpoint=str(latest), data_window=skipped,
                           sources=sources, to_step=saved["step"])
        self.step = self.saved_step = saved["step"]
        self.guard.load_state_dict(saved["guard"])
        self.rollbacks += 1

    def _batch_losses(self, position_losses: list[torch.Tensor]) -> np.ndarray:
        """The loss of every target of the step, all ranks, rows in stream order: (windows, seq_len).

        Micro-step m, rank r, row i is position start + m*B*W + i*W + r (`MixtureLoader.rank_positions`).
        """
        mine = torch.stack(position_losses)  # (grad_accum, B, T)
        if self.env.world_size > 1:
            parts = [torch.empty_like(mine) for _ in range(self.env.world_size)]
            dist.all_gather(parts, mine)
            mine = torch.stack(parts, dim=2)  # (grad_accum, B, W, T)
        return mine.reshape(-1, mine.shape[-1]).cpu().numpy()

    def _record_reads(self, positions: range, batch: Batch) -> None:
        """Debug witness (`data.record_reads`): this rank's positions and a sha256 of each row's targets."""
        digests = [hashlib.sha256(row.numpy().tobytes()).hexdigest() for row in batch.targets]
        with open(self.run_dir / f"reads-rank{self.env.rank}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": self.step, "positions": list(positions), "targets_sha256": digests}) + "\n")

    def _sources(self, start: int, stop: int) -> dict[str, int]:
        """Sequences per source in positions start..stop-1 of the stream (all ranks)."""
        before, after = self.loader.tokens_per_source(start), self.loader.tokens_per_source(stop)
        return {name: (after[name] - before[name]) // self.model_config.seq_len
                for name in after if after[name] > before[name]}

    def evaluate(self) -> dict[str, SourceEval]:
        results = self.evaluator.evaluate(self.model, self.env.device, self.bf16)
        values = {name: {"loss": r.loss, "bits_per_byte": r.bits_per_byte, "bits_per_byte_se": r.bits_per_byte_se}
                  for name, r in results.items()}
        values["mean_bits_per_byte"] = sum(r.bits_per_byte for r in results.values()) / len(results)
        self.metrics.log(self.step, "eval", values)
        return results

    def save(self) -> None:
        state = {"step": self.step, "data": self.loader.state_dict(), "guard": self.guard.state_dict(),
                 "rollbacks": self.rollbacks, "model_config": self.model_config.model_dump(mode="json"),
                 "config": self.config.model_dump(mode="json")}
        path = self.checkpointer.save(self.step, self.model, self.optimizer, state)
        self.saved_step = self.step
        self.metrics.event(self.step, "checkpoint", f"saved {path}", path=str(path))

    def close(self) -> None:
        self.loader.close()
        self.metrics.close()


def train(config: TrainConfig, resume: bool = False, allow_config_change: bool = False) -> dict[str, SourceEval]:
    """Run training to `config.max_steps`; return the final validation results per source."""
    trainer = Trainer(config, resume=resume, allow_config_change=allow_config_change)
    try:
        return trainer.fit()
    finally:
        trainer.close()
        if dist.is_initialized():
            dist.destroy_process_group()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dataflow train", description="Train a GPT proxy on a data mixture.")
    parser.add_argument("--config", help="run config (YAML); `preset:` in it names a file of trainer/presets/")
    parser.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint in out_dir")
    parser.add_argument("--allow-config-change", action="store_true",
                        help=f"resume even though {', '.join(SCHEDULE_SETTINGS)} differ from the checkpoint's run")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    add_model_flags(parser, TrainConfig)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_train_config(args.config, flag_overrides(args, TrainConfig))
    if args.dry_run:
        print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
        return 0
    rank = int(os.environ.get("RANK", 0))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING,
                        format=f"%(asctime)s [rank {rank}] %(name)s: %(message)s")
    train(config, resume=args.resume, allow_config_change=args.allow_config_change)
    return 0


#: Settings a resumed run must share with the run it continues: they shape the learning-rate
#: schedule and the token stream, so changing them mid-run gives a run that matches neither.
SCHEDULE_SETTINGS = ("max_steps", "optim", "data")


def _check_schedule(saved: dict | None, config: TrainConfig, path: Path, allowed: bool) -> None:
    """Refuse a resume whose schedule-relevant settings changed, naming them, unless `allowed`."""
    current = config.model_dump(mode="json")
    changed = {key: (saved[key], current[key]) for key in SCHEDULE_SETTINGS
               if saved is not None and saved.get(key) != current[key]}
    if not changed:
        return
    described = "; ".join(f"{key}: {old} -> {new}" for key, (old, new) in changed.items())
    if not allowed:
        raise ConfigError(f"resuming from {path} with changed settings ({described}); restore them, "
                          "or pass --allow-config-change to continue under the new ones")
    log.warning("resuming from %s with changed settings (--allow-config-change): %s", path, described)


def _held_out(validation_sets: dict[str, TokenDataset]) -> dict[str, TokenDataset]:
    """The validation splits that hold documents: a source tokenized with --validation-frac 0
    held none out on purpose (all of it to training), so it is trained on and not scored."""
    for name, dataset in validation_sets.items():
        if dataset.num_documents == 0:
            log.warning("source %s holds out no validation documents (%s): it is trained on, not scored",
                        name, dataset.path)
    return {name: dataset for name, dataset in validation_sets.items() if dataset.num_documents}


def _shared_vocab_size(datasets: dict[str, TokenDataset]) -> int:
    """The vocabulary all datasets share; ids from different tokenizers cannot be mixed."""
    (first_name, first), *rest = datasets.items()
    for name, dataset in rest:
        if dataset.manifest.tokenizer.sha256 != first.manifest.tokenizer.sha256:
            raise InputError(f"sources {first_name} and {name} were tokenised with different tokenizers "
                             f"({first.manifest.tokenizer.path}, {dataset.manifest.tokenizer.path}); "
                             "re-tokenise one of them")
    return first.manifest.vocab_size


def _document_name(document: dict) -> str:
    return document["id"] or f"{document['source']} shard {document['shard']} document {document['document']}"


def _due(step: int, every: int, max_steps: int) -> bool:
    return step == max_steps or (every > 0 and step % every == 0)



if __name__ == "__main__":
    raise SystemExit(main())
