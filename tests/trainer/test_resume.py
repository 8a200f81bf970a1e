"""Checkpoints: an interrupted run resumes to the bit, bad checkpoints are refused, runs branch."""

import os
import shutil

import pytest
import torch

from dataflow.errors import ConfigError
from trainer.checkpoint import CheckpointError, step_folders
from trainer.metrics import read_jsonl
from trainer.train import Trainer, train

from conftest import tiny_config, write_mixture


def losses(out_dir):
    return {row["step"]: row["loss"] for row in read_jsonl(out_dir / "metrics.jsonl") if row["kind"] == "train"}


def weights(trainer):
    return {name: p.detach().clone() for name, p in trainer.model.named_parameters()}


def test_resume_after_k_steps_matches_an_uninterrupted_run_bit_for_bit(tmp_path, mixture_file):
    whole = Trainer(tiny_config(tmp_path / "whole", mixture_file))
    whole.fit()
    interrupted = Trainer(tiny_config(tmp_path / "parts", mixture_file))
    interrupted.fit(until_step=4)  # checkpoint at step 4, then the process "dies"
    del interrupted
    resumed = Trainer(tiny_config(tmp_path / "parts", mixture_file), resume=True)
    assert resumed.step == 4
    resumed.fit()
    assert losses(tmp_path / "parts") == losses(tmp_path / "whole")  # floats compared exactly
    final, expected = weights(resumed), weights(whole)
    assert all(torch.equal(final[name], expected[name]) for name in expected)
    assert resumed.loader.state_dict() == whole.loader.state_dict()


def corrupt(model_file) -> None:
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte
    model_file.write_bytes(bytes(data))


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one_with_a_warning(tmp_path, mixture_file, caplog):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=8)
    train(config)
    corrupt(tmp_path / "run" / "checkpoints" / "step-000008" / "model.pt")
    resumed = Trainer(config, resume=True)
    assert resumed.step == 4
    assert "step-000008 is corrupt: model.pt does not match" in caplog.text
    resumed.fit()  # a requeued job finishes, and step 8 is written again
    assert Trainer(config, resume=True).step == 8


def test_resume_with_every_checkpoint_corrupt_is_refused_with_a_clear_message(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=4)
    train(config)
    corrupt(tmp_path / "run" / "checkpoints" / "step-000004" / "model.pt")
    with pytest.raises(CheckpointError, match=r"none of the 1 checkpoints under .*checkpoints reads back intact"):
        Trainer(config, resume=True)


def test_partial_last_metrics_line_does_not_block_resume(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file)
    Trainer(config).fit(until_step=4)
    for name in ("metrics.jsonl", "events.jsonl"):
        with open(tmp_path / "run" / name, "a", encoding="utf-8") as f:
            f.write('{"step": 5, "kind": "tr')  # killed during an append
    Trainer(config, resume=True).fit()
    assert sorted(losses(tmp_path / "run")) == list(range(8))
    assert all(row["step"] <= 8 for row in read_jsonl(tmp_path / "run" / "events.jsonl"))


def test_resume_with_changed_schedule_settings_is_refused_unless_allowed(tmp_path, mixture_file, caplog):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=4)
    train(config)
    changed = config.model_copy(update={"max_steps": 6, "optim": config.optim.model_copy(update={"lr": 5e-3})})
    with pytest.raises(ConfigError, match=r"resuming from .*step-000004 with changed settings \(max_steps: 4 -> 6; "
                                          r"optim: .*'lr': 0.01.* -> .*'lr': 0.005.*--allow-config-change"):
        Trainer(changed, resume=True)
    assert Trainer(changed, resume=True, allow_config_change=True).step == 4
    assert "with changed settings (--allow-config-change): max_steps: 4 -> 6" in caplog.text


def test_checkpoint_files_are_on_disk_before_their_marker(tmp_path, mixture_file, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    train(tiny_config(tmp_path / "run", mixture_file, max_steps=4))
    names = [path.rsplit("/", 1)[1] for path in synced]
    assert names == ["model.pt", "optimizer.pt", "trainer.pt", "complete.json", "checkpoints"]


def test_half_written_step_is_ignored_and_old_steps_are_purged(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=12, checkpoint={"every_steps": 2, "keep_last": 2})
    train(config)
    folder = tmp_path / "run" / "checkpoints"
    assert [step for step, _ in step_folders(folder)] == [10, 12]
    shutil.copytree(folder / "step-000012", folder / "step-000014.tmp")  # a crash while writing step 14
    (folder / "step-000016").mkdir()  # renamed but without its marker
    assert Trainer(config.model_copy(update={"max_steps": 16}), resume=True, allow_config_change=True).step == 12


def test_branch_starts_from_another_runs_weights_with_a_new_mixture(tmp_path, mixture_file, sources):
    base = Trainer(tiny_config(tmp_path / "base", mixture_file, max_steps=4))
    base.fit()
    wiki_only = write_mixture(tmp_path / "wiki-only.yaml", {"wiki": (sources["wiki"], 1.0)}, seed=5)
    branch = Trainer(tiny_config(tmp_path / "branch", wiki_only, max_steps=4,
                                 optim={"schedule": "wsd", "warmup_steps": 0, "decay_frac": 1.0, "lr": 5e-3},
                                 checkpoint={"init_from": str(tmp_path / "base")}))
    assert branch.step == 0 and branch.loader.position == 0
    start, trained = weights(branch), weights(base)
    assert all(torch.equal(start[name], trained[name]) for name in trained)
    assert branch.optimizer.state_dict()["state"][0]["step"] == 4  # AdamW moments carried over
    branch.fit()
    assert list(branch.loader.tokens_per_source()) == ["wiki"]


@pytest.mark.parametrize("marker", [b"", b'{"step": 8, "sha2', b"[]"])
def test_empty_or_torn_marker_of_the_newest_checkpoint_falls_back_with_a_warning(tmp_path, mixture_file, caplog,
                                                                                   marker):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=8)
    train(config)
    (tmp_path / "run" / "checkpoints" / "step-000008" / "complete.json").write_bytes(marker)
    resumed = Trainer(config, resume=True)
    assert resumed.step == 4
    assert "step-000008 is incomplete: its complete.json is empty or torn" in caplog.text
