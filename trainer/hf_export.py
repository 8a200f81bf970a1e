"""Models out: a trained run as a Hugging Face `transformers` folder that `AutoModelForCausalLM` loads.

    dataflow export-model runs/proxy-1 --output exports/proxy-1 [--checkpoint runs/proxy-1/checkpoints/step-000800]

The trainer's GPT (trainer/model.py) is LLaMA's architecture exactly, so it maps onto `LlamaForCausalLM` with
no approximation, weights renamed and split, none changed:

- `embed`, `head` -> `model.embed_tokens`, `lm_head`; `tie_word_embeddings` = `model.tie_embeddings`.
- `blocks.i.attn_norm`, `blocks.i.mlp_norm`, `norm` (nn.RMSNorm) -> `input_layernorm`,
  `post_attention_layernorm`, `model.norm`; `rms_norm_eps` = `norm_eps`.
- `attn.qkv` (rows q, k, v, heads in order) -> `q_proj`, `k_proj`, `v_proj`; no bias, as many KV heads as heads.
- RoPE rotates halves (x_i, x_{i+hs/2}) at angles pos / theta^(2i/hs): Llama's `rotate_half` with the default
  rope and `rope_theta`, the same (GPT-NeoX) layout, so q and k rows need no permutation.
- `attn.proj` -> `o_proj`; `mlp.gate_up` (rows gate, up) -> `gate_proj`, `up_proj`; `mlp.down` -> `down_proj`;
  SiLU gate (`hidden_act: silu`), `intermediate_size` = the SwiGLU width.

`vocab_size` is the embedding's (the datasets' padded to a multiple of 64): rows past the tokenizer's vocabulary
are padding that training never saw. `max_position_embeddings` is the trained context (`seq_len`). The
tokenizer is the one the run's token sources were made with (their manifest's path, checked against its
sha256), saved as `tokenizer.json` + `tokenizer_config.json` of a `PreTrainedTokenizerFast`
whose EOS is the datasets' EOS id; the model has no BOS (documents are separated by EOS only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import torch
import yaml

from dataflow.errors import InputError, UserError
from dataflow.mix.mixture import load_mixture, open_sources
from dataflow.shards import TokenDataset, file_sha256
from trainer import checkpoint
from trainer.model import GPT, GPTConfig

MODEL_FILE = "model.pt"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dataflow export-model", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="training run folder (the out_dir of `dataflow train`)")
    parser.add_argument("--output", required=True, help="folder for the transformers model")
    parser.add_argument("--checkpoint", help="a step-N folder [default: the run's newest complete checkpoint]")
    return parser.parse_args(argv)


def load_run_model(run_dir: Path, step_dir: Path | None = None) -> tuple[GPT, dict]:
    """The trainer's model with the weights of `step_dir` (default: the newest checkpoint), and the run's config."""
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise InputError(f"{run_dir} is not a training run folder (no config.yaml); give the out_dir of "
                         "`dataflow train`")
    run_config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    weights = checkpoint.read(checkpoint.resolve(step_dir or run_dir))[MODEL_FILE]
    model_config = GPTConfig(**{**run_config["model"], "vocab_size": weights["embed.weight"].shape[0]})
    model = GPT(model_config)
    model.load_state_dict(weights)
    return model.eval(), run_config


def llama_config(config: GPTConfig, eos_id: int):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=config.vocab_size, hidden_size=config.d_model, intermediate_size=config.hidden,
                       num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
                       num_key_value_heads=config.num_heads, head_dim=config.d_model // config.num_heads,
                       hidden_act="silu", max_position_embeddings=config.seq_len, rms_norm_eps=config.norm_eps,
                       rope_parameters={"rope_type": "default", "rope_theta": config.rope_theta},
                       tie_word_embeddings=config.tie_embeddings, attention_bias=False, mlp_bias=False,
                       bos_token_id=None, eos_token_id=eos_id, pad_token_id=None, dtype="float32",
                       architectures=["LlamaForCausalLM"])


def llama_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """The trainer's weights under Llama's names (module docstring's table), as contiguous copies."""
    config, weights = model.config, model.state_dict()
    hidden = config.hidden
    out = {"model.embed_tokens.weight": weights["embed.weight"], "model.norm.weight": weights["norm.weight"]}
    if not config.tie_embeddings:
        out["lm_head.weight"] = weights["head.weight"]
    for i in range(config.num_layers):
        src, dst = f"blocks.{i}.", f"model.layers.{i}."
        q, k, v = weights[src + "attn.qkv.weight"].chunk(3, dim=0)
        gate, up = weights[src + "mlp.gate_up.weight"].split(hidden, dim=0)
        out |= {dst + "input_layernorm.weight": weights[src + "attn_norm.weight"],
                dst + "post_attention_layernorm.weight": weights[src + "mlp_norm.weight"],
                dst + "self_attn.q_proj.weight": q, dst + "self_attn.k_proj.weight": k,
                dst + "self_attn.v_proj.weight": v, dst + "self_attn.o_proj.weight": weights[src + "attn.proj.weight"],
                dst + "mlp.gate_proj.weight": gate, dst + "mlp.up_proj.weight": up,
                dst + "mlp.down_proj.weight": weights[src + "mlp.down.weight"]}
    return {name: tensor.detach().float().contiguous().clone() for name, tensor in out.items()}


def run_tokenizer(run_config: dict) -> tuple[Path, int]:
    """The tokenizer file the run's token sources were made with, and their EOS id."""
    dataset: TokenDataset = next(iter(open_sources(load_mixture(run_config["data"]["mixture"]), "train").values()))
    info = dataset.manifest.tokenizer
    path = Path(info.path)
    if not path.is_file() or file_sha256(path) != info.sha256:
        raise InputError(f"tokenizer {path} of {dataset.path} is missing or changed since tokenizing (sha256 "
                         f"{info.sha256[:12]}…); put the file that made the tokens back")
    return path, dataset.manifest.eos_id


def check_replaceable_export(output: Path) -> None:
    """Only an earlier export (config.json and model.safetensors) is replaced: never a folder of other files."""
    if output.exists() and not ((output / "config.json").is_file() and (output / "model.safetensors").is_file()):
        raise InputError(f"--output {output} exists and is not an earlier model export; give a new folder")


def export_model(run_dir: Path, output: Path, step_dir: Path | None = None) -> Path:
    """Write the transformers folder into a temporary sibling and rename it into place (nothing half-written)."""
    try:
        from transformers import LlamaForCausalLM, PreTrainedTokenizerFast
    except ImportError:
        raise UserError("export-model needs transformers: pip install 'dataflow[hf]'") from None

    check_replaceable_export(output)
    model, run_config = load_run_model(run_dir, step_dir)
    tokenizer_path, eos_id = run_tokenizer(run_config)
    tmp = output.with_name(f"{output.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        llama = LlamaForCausalLM(llama_config(model.config, eos_id))
        missing, unexpected = llama.load_state_dict(llama_state_dict(model), strict=False)
        tied = {"lm_head.weight"} if model.config.tie_embeddings else set()
        assert not unexpected and set(missing) <= tied, (missing, unexpected)  # the table covers every weight
        llama.save_pretrained(tmp, safe_serialization=True)
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_path))
        eos = tokenizer.convert_ids_to_tokens(eos_id)
        tokenizer.eos_token = eos
        tokenizer.model_max_length = model.config.seq_len
        tokenizer.save_pretrained(tmp)
        if output.exists():
            shutil.rmtree(output)  # an earlier export (check_replaceable_export)
        tmp.rename(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = export_model(Path(args.run_dir), Path(args.output), Path(args.checkpoint) if args.checkpoint else None)
    print(f"export-model: {args.run_dir} -> {out} (LlamaForCausalLM, model.safetensors, tokenizer.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
