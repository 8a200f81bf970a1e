"""Inspecting a `mix` output: totals, target vs realised share per source, repetition, integrity."""

from __future__ import annotations

from pathlib import Path

from dataflow.inspect.options import InspectOptions
from dataflow.inspect.report import Report, Table
from dataflow.inspect.tokens import random_positions, shown_ids
from dataflow.mix.sequences import MixedSequences
from dataflow.tokenize.tokenizer import load_matching_tokenizer


def mixture_report(path: Path, options: InspectOptions) -> Report:
    sequences = MixedSequences.open(path, verify=options.verify)
    m = sequences.manifest
    report = Report(kind="mixture", path=str(path), summary={
        "name": m.name, "format": m.format, "seq_len": m.seq_len, "seed": m.seed, "sequences": m.num_sequences,
        "tokens": m.num_sequences * m.seq_len, "budget (total_tokens)": m.total_tokens, "shards": len(m.shards),
        "tokenizer": m.tokenizer.path, "tokenizer sha256": m.tokenizer.sha256, "dtype": m.dtype,
        "repeated documents": sum(source.repeated_documents for source in m.sources.values())})
    if options.verify:
        report.summary["verified"] = "ok: every shard's sha256 and the sequences per source match the manifest"
    report.tables["sources"] = Table(
        ["source", "target share", "realised share", "diff (pp)", "target tokens", "realised tokens", "epochs",
         "max epochs", "repeated documents"],
        [[name, s.target_share, s.realised_share, round(100 * (s.realised_share - s.target_share), 4), s.target_tokens,
          s.realised_tokens, round(s.epochs, 4), s.max_epochs, s.repeated_documents] for name, s in m.sources.items()],
        note=f"repeated documents are listed in {path / 'repeated'}" if (path / "repeated").is_dir() else None)
    report.samples = sequence_samples(sequences, options)
    return report


def sequence_samples(sequences: MixedSequences, options: InspectOptions) -> list[dict]:
    """`--sample N` sequences as ids and `--decode N` as text, with their source, picked at seeded random."""
    tokenizer = load_matching_tokenizer(sequences.manifest.tokenizer, options.tokenizer,
                                        f"mixture output {sequences.path}") if options.decode else None
    samples = []
    for position in random_positions(len(sequences), options):
        tokens, source = sequences.sequence(position)
        samples.append({"position": position, "source": source, **shown_ids(tokens, options, tokenizer)})
    return samples
