"""Inspecting a `mix` output: totals, target vs realised share per source, repetition, integrity,
and with `--sequence N` the documents a sequence holds."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from dataflow.errors import InputError, UserError
from dataflow.inspect.documents import describe_documents
from dataflow.inspect.options import InspectOptions
from dataflow.inspect.report import Report, Table
from dataflow.inspect.tokens import random_positions, shown_ids
from dataflow.mix.mixture import Mixture, open_stream
from dataflow.mix.provenance import source_roots, stream_documents
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
    if options.sequence is not None:
        report.samples += sequence_documents(sequences, options.sequence)
    return report


def sequence_documents(sequences: MixedSequences, n: int) -> list[dict]:
    """The documents inside sequence n, recomputed from the mixture the output records (position n of its
    stream); refused when the sources no longer give the stored tokens (re-tokenised since the mix)."""
    if not 0 <= n < len(sequences):
        raise UserError(f"--sequence {n} is outside {sequences.path}, which holds sequences 0 to {len(sequences) - 1}")
    m = sequences.manifest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mix job already warned about weights that do not sum to 1
        mixture = Mixture.model_validate(m.mixture)
    stream = open_stream(mixture, m.seq_len)
    stored, _ = sequences.sequence(n)
    rows, _ = stream.sequences(n, n + 1)
    if not np.array_equal(rows[0, :len(stored)], stored):
        raise InputError(f"sequence {n} of {sequences.path} is not what the mixture's sources give now; "
                         "they changed since the mix (re-tokenised?), rerun `dataflow run mix --force`")
    documents = stream_documents(stream, source_roots(mixture), n, n + 1)
    return describe_documents([{"sequence": n, **document} for document in documents], source_roots(mixture))


def sequence_samples(sequences: MixedSequences, options: InspectOptions) -> list[dict]:
    """`--sample N` sequences as ids and `--decode N` as text, with their source, picked at seeded random."""
    tokenizer = load_matching_tokenizer(sequences.manifest.tokenizer, options.tokenizer,
                                        f"mixture output {sequences.path}") if options.decode else None
    samples = []
    for position in random_positions(len(sequences), options):
        tokens, source = sequences.sequence(position)
        samples.append({"position": position, "source": source, **shown_ids(tokens, options, tokenizer)})
    return samples
