"""The training loop end to end on CPU: the loss falls, the entry point works, outputs are written."""

import pytest

from dataflow.errors import ConfigError
from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from trainer.metrics import read_jsonl
from trainer.train import Trainer, main, train

from conftest import EOS, VOCAB_SIZE, tiny_config, write_mixture, write_source


def train_rows(out_dir):
    return [row for row in read_jsonl(out_dir / "metrics.jsonl") if row["kind"] == "train"]


def test_loss_falls_on_a_tiny_model(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=40, eval={"every_steps": 40})
    results = train(config)
    losses = [row["loss"] for row in train_rows(tmp_path / "run")]
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5
    evals = [row for row in read_jsonl(tmp_path / "run" / "metrics.jsonl") if row["kind"] == "eval"]
    assert [row["step"] for row in evals] == [0, 40]
    assert evals[1]["web"]["bits_per_byte"] < evals[0]["web"]["bits_per_byte"]
    assert set(results) == {"web", "wiki"}


def test_main_takes_a_config_file_and_flag_overrides(tmp_path, mixture_file, capsys):
    tiny_config(tmp_path / "run", mixture_file)  # writes run.yaml beside the run folder
    config_file = str(tmp_path / "run.yaml")
    assert main(["--config", config_file, "--max-steps", "4", "--optim.lr", "0.02", "--log.tensorboard"]) == 0
    rows = train_rows(tmp_path / "run")
    assert [row["step"] for row in rows] == [0, 1, 2, 3]
    assert {"loss", "lr", "grad_norm", "tokens_per_second", "mfu", "data_wait_frac", "tokens"} <= set(rows[0])
    assert rows[-1]["tokens"] == {"web": 4 * 4 * 32 * 3 // 4, "wiki": 4 * 4 * 32 // 4}  # shares 0.75, 0.25
    assert [row["lr"] for row in rows] == pytest.approx([0.01, 0.02, 0.02, 0.002])  # warmup, peak, cosine to the floor
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "run" / "checkpoints" / "step-000004" / "complete.json").is_file()


def test_dry_run_prints_the_resolved_config_with_the_preset(tmp_path, mixture_file, capsys):
    assert main(["--preset", "tiny", "--out-dir", str(tmp_path / "run"), "--data.mixture", str(mixture_file),
                 "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "d_model: 64" in printed and "max_steps: 200" in printed
    assert not (tmp_path / "run").exists()


def test_unknown_preset_lists_the_known_ones(tmp_path, mixture_file):
    with pytest.raises(ConfigError, match=r"unknown preset 'huge'; known presets: gpt-10m, gpt-1b"):
        main(["--preset", "huge", "--out-dir", str(tmp_path), "--data.mixture", str(mixture_file), "--dry-run"])


def test_run_folder_with_checkpoints_needs_resume(tmp_path, mixture_file):
    config = tiny_config(tmp_path / "run", mixture_file, max_steps=4)
    train(config)
    with pytest.raises(ConfigError, match=r"already holds checkpoints \(newest step-000004\); pass --resume"):
        Trainer(config)


def test_a_source_with_no_validation_documents_is_trained_on_and_not_scored(tmp_path, sources):
    """`dataflow run tokenize --validation-frac 0` writes an empty validation split on purpose."""
    held_none = write_source(tmp_path / "all-train", "all-train", seed=3)
    write_token_dataset(split_path(held_none, "validation"), [], source="all-train", split="validation",
                        tokenizer=TokenizerInfo.from_file(held_none / "tokenizer.json"), vocab_size=VOCAB_SIZE,
                        eos_id=EOS)
    mixture = write_mixture(tmp_path / "mix.yaml", {"web": (sources["web"], 0.5), "all-train": (held_none, 0.5)})
    results = train(tiny_config(tmp_path / "run", mixture, max_steps=4))
    assert set(results) == {"web"}
    alone = write_mixture(tmp_path / "alone.yaml", {"all-train": (held_none, 1.0)})
    with pytest.raises(ConfigError, match=r"nothing to evaluate: no source holds out validation documents"):
        train(tiny_config(tmp_path / "run-alone", alone))
