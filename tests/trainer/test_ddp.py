"""Data parallelism on CPU: two gloo ranks train as one process with the same global batch."""

import pytest
import torch

from trainer.metrics import read_jsonl
from trainer.train import Trainer, train

from conftest import tiny_config
from ranks import run_ranks


def rows(out_dir, kind):
    return [row for row in read_jsonl(out_dir / "metrics.jsonl") if row["kind"] == kind]


def resume_and_evaluate(config):
    Trainer(config, resume=True).fit()  # already at max_steps: loads the last checkpoint and evaluates


def final_weights(out_dir):
    return torch.load(out_dir / "checkpoints" / "step-000004" / "model.pt", weights_only=True)


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_gloo_ranks_match_one_process_with_the_same_global_batch(tmp_path, mixture_file, parallel):
    single = tiny_config(tmp_path / "single", mixture_file, max_steps=4, data={"batch_size": 4, "grad_accum_steps": 2})
    train(single)
    split = tiny_config(tmp_path / "split", mixture_file, max_steps=4, parallel=parallel,
                        data={"batch_size": 2, "grad_accum_steps": 2})
    run_ranks(train, 2, split)
    one, two = rows(tmp_path / "single", "train"), rows(tmp_path / "split", "train")
    assert [row["tokens"] for row in one] == [row["tokens"] for row in two]
    assert [row["loss"] for row in two] == pytest.approx([row["loss"] for row in one], rel=1e-5)
    assert [row["grad_norm"] for row in two] == pytest.approx([row["grad_norm"] for row in one], rel=1e-4)
    evals = [r[name]["loss"] for r in rows(tmp_path / "split", "eval") for name in ("web", "wiki")]
    assert evals == pytest.approx([r[name]["loss"] for r in rows(tmp_path / "single", "eval") for name in ("web",
                                                                                                           "wiki")])
    errors = [r[name]["bits_per_byte_se"] for r in rows(tmp_path / "split", "eval") for name in ("web", "wiki")]
    assert errors == pytest.approx([r[name]["bits_per_byte_se"] for r in rows(tmp_path / "single", "eval")
                                    for name in ("web", "wiki")])  # every window's cost reaches rank 0
    expected, got = final_weights(tmp_path / "single"), final_weights(tmp_path / "split")
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-5)

    last_eval = rows(tmp_path / "split", "eval")[-1]
    run_ranks(resume_and_evaluate, 2, split)  # the checkpoint loads back into the wrapped model
    assert rows(tmp_path / "split", "eval")[-1] == last_eval
