"""Inspecting token outputs: one token dataset (a split), or a token source folder from `tokenize`.

Figures come from the manifests and the memory-mapped document indexes (never the token
files, unless `--verify` hashes them or `--decode`/`--sample` read a few documents); the
per-language and per-domain breakdowns of a source come from its documents/ table.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from dataflow.errors import UserError
from dataflow.inspect.accumulate import NumericColumn
from dataflow.inspect.funnel import chain_to, funnel_table, stage_stats
from dataflow.inspect.options import InspectOptions
from dataflow.inspect.parquet import parquet_report
from dataflow.inspect.report import Report, Table
from dataflow.shards import SPLITS, MANIFEST, TokenDataset, split_path
from dataflow.tokenize.encode import DOCUMENTS_DIR
from dataflow.tokenize.tokenizer import load_matching_tokenizer

SAMPLE_IDS = 32  # token ids shown per sampled document


def token_dataset_report(path: Path, options: InspectOptions) -> Report:
    dataset = TokenDataset.open(path, verify=options.verify)
    m = dataset.manifest
    report = Report(kind="token-dataset", path=str(path), summary={
        "source": m.source, "split": m.split, "tokenizer": m.tokenizer.path, "tokenizer sha256": m.tokenizer.sha256,
        "vocab size": m.vocab_size, "dtype": m.dtype, "eos id": m.eos_id, "shards": len(m.shards),
        **dataset_figures(dataset)})
    if options.verify:
        report.summary["verified"] = "ok: every shard's sha256 matches and every document ends with EOS"
    lengths = NumericColumn(options.seed)
    for ends in dataset.doc_ends:
        lengths.add(np.diff(ends.astype(np.int64), prepend=0))
    report.histograms["tokens per document"] = lengths.histogram(options.bins)
    rows = [[e.file, e.num_documents, e.num_tokens, e.text_bytes] for e in m.shards[:options.top]]
    shown = f"first {options.top} of {len(m.shards)}" if len(m.shards) > options.top else None
    report.tables["shards"] = Table(["file", "documents", "tokens", "text bytes"], rows, note=shown)
    report.samples = document_samples(dataset, options)
    return report


def token_source_report(path: Path, options: InspectOptions) -> Report:
    """A `tokenize` output: both splits, the stats, the funnel, and breakdowns of documents/."""
    if (path / DOCUMENTS_DIR).is_dir():
        report = parquet_report(path / DOCUMENTS_DIR, replace(options, sample=0), kind="token-source",
                                shown_path=path, weight="num_tokens")
        report.tables.pop("schema")
        report.summary = {"documents/ rows" if not options.where else "documents/ rows (where)": report.summary["rows"]}
    elif options.where:
        raise UserError(f"--where filters the documents/ table, and {path} has none "
                        "(it is written by `dataflow run tokenize`)")
    else:
        report = Report(kind="token-source", path=str(path))
    stats = stage_stats(path)
    if stats is not None:
        report.summary.update({"source": stats.get("source"), "seconds": stats.get("seconds")})
        report.tables["funnel"] = funnel_table(chain_to(path))
    rows, sampled = [], None  # samples come from train, or validation if there is no train split
    for split in SPLITS:
        if (split_path(path, split) / MANIFEST).is_file():
            dataset = TokenDataset.open(split_path(path, split), verify=options.verify)
            sampled = sampled or dataset
            figures = dataset_figures(dataset)
            rows.append([split, len(dataset.manifest.shards), figures["documents"], figures["tokens"],
                         figures["text bytes"], figures["text bytes per token"]])
            report.summary.setdefault("tokenizer", dataset.manifest.tokenizer.path)
            report.summary.setdefault("tokenizer sha256", dataset.manifest.tokenizer.sha256)
    report.tables = {"splits": Table(["split", "shards", "documents", "tokens", "text bytes", "bytes/token"], rows),
                     **report.tables}
    if options.verify:
        report.summary["verified"] = "ok: every shard of every split matches its sha256 and ends documents with EOS"
    if sampled is not None:
        report.samples = document_samples(sampled, options)
    return report


def dataset_figures(dataset: TokenDataset) -> dict:
    tokens, documents = dataset.num_tokens, dataset.num_documents
    return {"documents": documents, "tokens": tokens, "text bytes": dataset.text_bytes,
            "text bytes per token": round(dataset.text_bytes / tokens, 3) if tokens else None,
            "tokens per document": round(tokens / documents, 1) if documents else None}


def document_samples(dataset: TokenDataset, options: InspectOptions) -> list[dict]:
    """`--sample N` documents as ids and `--decode N` as text, picked at seeded random."""
    per_shard = np.array([entry.num_documents for entry in dataset.manifest.shards], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(per_shard)])
    tokenizer = load_matching_tokenizer(dataset.manifest.tokenizer, options.tokenizer,
                                        f"token dataset {dataset.path}") if options.decode else None
    samples = []
    for pick in random_positions(int(first[-1]), options):
        shard = int(np.searchsorted(first, pick, side="right")) - 1
        index = pick - int(first[shard])
        ids = dataset.document(shard, index)
        samples.append({"shard": dataset.manifest.shards[shard].file, "document": index, "tokens": len(ids),
                        **shown_ids(ids, options, tokenizer)})
    return samples


def random_positions(total: int, options: InspectOptions) -> list[int]:
    """max(--sample, --decode) distinct positions below `total`, seeded, in increasing order."""
    count = min(max(options.sample, options.decode), total)
    return np.sort(np.random.default_rng(options.seed).choice(total, size=count, replace=False)).tolist()


def shown_ids(ids: np.ndarray, options: InspectOptions, tokenizer) -> dict:
    """The first ids (`--sample`) and the decoded text (`--decode`) of one document or sequence."""
    shown = {"ids": ids[:SAMPLE_IDS].tolist()} if options.sample else {}
    if tokenizer is not None:
        shown["text"] = tokenizer.decode(ids.tolist(), skip_special_tokens=False)
    return shown
