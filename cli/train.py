"""`dataflow train`, `export-model`, `tokenizer train` and `classifiers train`: train a model or export one.

Each hands all its arguments to the `main()` of the code it runs (trainer/train.py, trainer/hf_export.py,
jobs/train_tokenizer.py, classifiers/train.py), which owns the flags and their `--help`.
"""

from __future__ import annotations

import typer


#: Top-level commands (merged into `dataflow` without a group name).
app = typer.Typer()
tokenizer_app = typer.Typer(no_args_is_help=True, help="Tokenizers: train a byte-level BPE on a sample of documents.")
classifiers_app = typer.Typer(no_args_is_help=True, help="fastText quality classifiers.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def train(ctx: typer.Context) -> None:
    """Train a GPT proxy on a data mixture (one process; use torchrun -m trainer.train for many).

    All arguments go to the trainer: `dataflow train --help` lists them (--config, --resume, ...).
    """
    from trainer.train import main as train_main

    raise typer.Exit(train_main(list(ctx.args)))


@app.command("export-model", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def export_model(ctx: typer.Context) -> None:
    """Export a training run as a Hugging Face transformers folder (LlamaForCausalLM; trainer/hf_export.py).

    All arguments go to the exporter: `dataflow export-model --help` lists them (RUN_DIR, --output, --checkpoint).
    """
    from trainer.hf_export import main as export_model_main

    raise typer.Exit(export_model_main(list(ctx.args)))


@tokenizer_app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                       add_help_option=False)
def tokenizer_train(ctx: typer.Context) -> None:
    """Train a byte-level BPE on a seeded sample of documents drawn in Spark (jobs/train_tokenizer.py).

    All arguments go to the job: `dataflow tokenizer train --help` lists them (--input, --vocab-size, --output, ...).
    """
    from jobs.train_tokenizer import main as train_main

    raise typer.Exit(train_main(list(ctx.args)))


@classifiers_app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                         add_help_option=False)
def classifiers_train(ctx: typer.Context) -> None:
    """Train a fastText quality classifier (DCLM defaults) with a held-out evaluation and a JSON card.

    Arguments go to the trainer; `dataflow classifiers train --help` lists them.
    """
    from classifiers import train

    raise typer.Exit(train.main(list(ctx.args)))
