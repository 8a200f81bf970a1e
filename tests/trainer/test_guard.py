"""Loss-spike guard: the z-score rule, and in a real run: skipped updates, rollback, divergence."""

import json
import math
from pathlib import Path

import pytest
import torch

from trainer.guard import GuardConfig, SpikeGuard, Verdict
from trainer.metrics import read_jsonl
from trainer.train import Trainer, TrainingDiverged

from conftest import tiny_config

CONFIG = GuardConfig(window=20, min_history=10, max_z=4.0, max_consecutive_spikes=3)


def steady_guard() -> SpikeGuard:
    guard = SpikeGuard(CONFIG)
    for i in range(20):
        assert guard.judge(2.0 + 0.01 * (i % 5), 1.0 + 0.01 * (i % 3)).verdict is Verdict.OK
    return guard


def test_loss_far_above_the_window_is_skipped_and_a_normal_step_resets_the_streak():
    guard = steady_guard()
    spike = guard.judge(3.0, 1.0)
    assert spike.verdict is Verdict.SKIP and spike.loss_z > 4
    assert guard.judge(2.02, 1.01).verdict is Verdict.OK
    assert guard.consecutive == 0


def test_gradient_norm_far_above_its_median_alone_is_recorded_but_not_skipped():
    judgement = steady_guard().judge(2.02, 5.0)
    assert judgement.verdict is Verdict.OK and judgement.grad_norm_z > 4


def test_a_non_finite_gradient_norm_is_a_spike():
    assert steady_guard().judge(2.02, math.inf).verdict is Verdict.SKIP


def test_no_z_score_before_the_minimum_history_and_twice_the_warmup():
    guard = SpikeGuard(CONFIG, warmup_steps=15)  # 2 x 15 = 30 accepted steps, more than min_history 10
    for i in range(29):
        assert guard.judge(2.0 + 0.01 * (i % 5), 1.0).verdict is Verdict.OK
    assert guard.judge(9.0, 1.0).verdict is Verdict.OK
    assert guard.judge(9.0, 1.0).verdict is Verdict.SKIP  # 30 steps seen: now it is judged


def test_early_values_in_the_window_do_not_hide_a_spike():
    # Two early steps far above the rest: a mean and std over the window would make 3.0 look normal
    # (mean 2.7, std 2.1); the median and MAD are not moved by them.
    guard = SpikeGuard(CONFIG)
    for loss in [10.0, 8.0] + [2.0 + 0.01 * (i % 5) for i in range(18)]:
        assert guard.judge(loss, 1.0).verdict is Verdict.OK
    assert guard.judge(3.0, 1.0).verdict is Verdict.SKIP


def test_non_finite_values_are_spikes_even_before_there_is_history():
    guard = SpikeGuard(CONFIG)
    assert guard.judge(math.nan, 1.0).verdict is Verdict.SKIP
    assert guard.judge(2.0, math.inf).verdict is Verdict.SKIP
    assert guard.judge(50.0, 9.0).verdict is Verdict.OK  # no history yet: only non-finite values count


def test_repeated_spikes_ask_for_a_rollback():
    guard = steady_guard()
    assert [guard.judge(9.0, 1.0).verdict for _ in range(3)] == [Verdict.SKIP, Verdict.SKIP, Verdict.ROLLBACK]


def test_state_round_trip_judges_alike():
    guard = steady_guard()
    guard.judge(9.0, 1.0)
    restored = SpikeGuard(CONFIG)
    restored.load_state_dict(guard.state_dict())
    assert restored.judge(9.0, 1.0) == guard.judge(9.0, 1.0)


def poison(trainer: Trainer) -> None:
    """A fault from outside (a flipped bit in memory): every forward pass now gives NaN."""
    with torch.no_grad():
        trainer.model.norm.weight[0] = math.inf


def test_non_finite_loss_never_reaches_the_weights(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file, eval={"every_steps": 0},
                         checkpoint={"every_steps": 100}, guard={"max_consecutive_spikes": 3})
    trainer = Trainer(config)
    trainer.fit(until_step=2)
    poison(trainer)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    with pytest.raises(TrainingDiverged,
                       match="diverged at step 4: 3 spikes in a row and no checkpoint to roll back to"):
        trainer.fit()
    assert all(torch.equal(p, before[name]) for name, p in trainer.model.named_parameters())
    spikes = [e for e in read_jsonl(tmp_path / "run" / "events.jsonl") if e["event"] == "spike_skipped"]
    assert [e["step"] for e in spikes] == [2, 3, 4]
    assert spikes[0]["data_window"] == [8, 12] and sum(spikes[0]["sources"].values()) == 4


def test_repeated_spikes_roll_back_to_the_last_checkpoint_and_skip_the_data_window(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file, eval={"every_steps": 0},
                         checkpoint={"every_steps": 2}, guard={"max_consecutive_spikes": 3})
    trainer = Trainer(config)
    trainer.fit(until_step=3)  # checkpoint at step 2
    poison(trainer)
    trainer.fit()
    events = read_jsonl(tmp_path / "run" / "events.jsonl")
    at = next(i for i, e in enumerate(events) if e["event"] == "rollback")
    rollback = events[at]
    assert rollback["step"] == 5 and rollback["checkpoint"].endswith("step-000002")
    assert rollback["data_window"] == [8, 24]  # read by steps 2 to 5, never trained on again
    assert [e["step"] for e in events[:at] if e["event"] == "checkpoint"] == [2]  # none mid-streak
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert trainer.step == 8 and trainer.loader.position == 24 + 6 * 4


def test_rollback_skips_a_checkpoint_that_fails_verification(tmp_path, mixture_file, caplog):
    config = tiny_config(tmp_path / "run", mixture_file, eval={"every_steps": 0},
                         checkpoint={"every_steps": 2, "keep_last": 2}, guard={"max_consecutive_spikes": 3})
    trainer = Trainer(config)
    trainer.fit(until_step=5)  # checkpoints at steps 2 and 4
    model_file = tmp_path / "run" / "checkpoints" / "step-000004" / "model.pt"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte: fails its sha256
    model_file.write_bytes(bytes(data))
    poison(trainer)
    trainer.fit()
    rollback = next(e for e in read_jsonl(tmp_path / "run" / "events.jsonl") if e["event"] == "rollback")
    assert rollback["checkpoint"].endswith("step-000002") and rollback["to_step"] == 2
    assert "step-000004 is corrupt" in caplog.text
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters()) and trainer.step == 8
def real_trace() -> list[tuple[float, float]]:
    """(loss, grad norm) of the first steps of a real proxy run: the `tiny` preset (warmup 20) on web, wiki and
    books text from the pipeline (bench/proxy_recipe.py, recipe tiny-200k), one row per step."""
    data = json.loads((Path(__file__).parent / "data" / "guard_trace_real.json").read_text())
    return list(zip(data["loss"], data["grad_norm"]))


def test_quiet_on_a_clean_early_training_trace_of_a_real_run():
    trace = real_trace()
    guard = SpikeGuard(GuardConfig(), warmup_steps=20)
    assert [step for step, (loss, grad_norm) in enumerate(trace)
            if guard.judge(loss, grad_norm).verdict is not Verdict.OK] == []


def test_fires_on_a_spike_planted_in_the_real_trace():
    trace = real_trace()
    planted = len(trace) - 20
    guard = SpikeGuard(GuardConfig(), warmup_steps=20)
    verdicts = {step: guard.judge(loss + (1.5 if step == planted else 0.0), grad_norm).verdict
                for step, (loss, grad_norm) in enumerate(trace)}
    assert [step for step, verdict in verdicts.items() if verdict is not Verdict.OK] == [planted]
