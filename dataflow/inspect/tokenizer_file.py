"""Inspecting a tokenizer.json: its identity (what manifests record), vocabulary and pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from dataflow.inspect.options import InspectOptions
from dataflow.inspect.report import Report, Table
from dataflow.shards import TokenizerInfo, token_dtype
from dataflow.stage import read_stats
from dataflow.tokenize.tokenizer import EOS_CANDIDATES, TOKENIZER_FILE, find_eos, id_space, read_tokenizer


def is_tokenizer_file(path: Path) -> bool:
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "model" in data and "added_tokens" in data


def tokenizer_report(path: Path, options: InspectOptions) -> Report:
    """A tokenizer.json; for a stage folder, also what it was trained on (its stats.json)."""
    trained = read_stats(str(path)) if path.is_dir() else {}
    path = path / TOKENIZER_FILE if path.is_dir() else path
    tokenizer, data = read_tokenizer(path), json.loads(path.read_text(encoding="utf-8"))
    vocab_size = id_space(tokenizer)
    eos = find_eos(tokenizer)
    report = Report(kind="tokenizer", path=str(path), summary={
        "sha256": TokenizerInfo.from_file(path).sha256, "model": data["model"].get("type"), "vocab size": vocab_size,
        "eos": f"{eos} ({tokenizer.id_to_token(eos)})" if eos is not None else
               f"none of {', '.join(EOS_CANDIDATES)}: name it with --eos-token when tokenizing",
        "token dtype": token_dtype(vocab_size).name,
        "normalizer": (data.get("normalizer") or {}).get("type"),
        "pre-tokenizer": (data.get("pre_tokenizer") or {}).get("type"),
        "decoder": (data.get("decoder") or {}).get("type")})
    if trained:
        report.summary |= {"trained on": f"{trained['documents']:,} documents, {trained['bytes']:,} bytes of "
                           f"{trained['input']}",
                           "asked vocab size": trained["config"]["vocab_size"]}
    specials = data["added_tokens"][:options.top]
    report.tables["added tokens"] = Table(["id", "token"], [[token["id"], token["content"]] for token in specials])
    return report
