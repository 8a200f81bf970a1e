"""Looking at a dedup stage output: its largest clusters, and the near duplicates of one document.

Backs `dataflow inspect dups PATH --top 20` and `dataflow dedup near DOC_ID PATH`. Both scan
the local output folder with pyarrow datasets, in batches and with only the columns they
need, so memory stays bounded by `top` and the batch size, not by the output's size.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow.dataset as ds

from dataflow.dedup.batches import DedupConfig
from dataflow.errors import InputError
from dataflow.dedup.minhash import band_keys, jaccard, shingle_hashes, signature_from_bytes
from dataflow.schema import REJECT_REASON
from dataflow.stage import DATA_DIR, REJECTED_DIR, read_stats
from dataflow.text import normalize_batch


@dataclass
class Member:
    """One row of a cluster, or a near-duplicate candidate of a document."""

    id: str
    text: str
    reason: str | None  # None: kept
    cluster: str | None = None
    estimated: float | None = None  # MinHash estimate of Jaccard with the queried document
    exact: float | None = None  # exact Jaccard of shingle sets with the queried document


@dataclass
class Cluster:
    id: str
    size: int
    kept: Member
    removed: list[Member] = field(default_factory=list)


def _dataset(stage_dir: str, part: str) -> ds.Dataset | None:
    path = os.path.join(stage_dir, part)
    if not os.path.isdir(path):
        return None
    return ds.dataset(path, format="parquet", ignore_prefixes=[".", "_"])


def _dedup_output(stage_dir: str) -> dict:
    stats = read_stats(stage_dir)
    if stats.get("stage") != "dedup":
        raise InputError(f"{stage_dir} is a {stats.get('stage')!r} stage output, not a dedup one: "
                         f"give the folder written by `dataflow run dedup`")
    return stats


def largest_clusters(stage_dir: str, top: int) -> list[Cluster]:
    """The `top` largest clusters (ties by cluster id), each with its kept and removed rows."""
    _dedup_output(stage_dir)
    kept_rows = _dataset(stage_dir, DATA_DIR)
    scan = (row for batch in kept_rows.to_batches(columns=["id", "dup_cluster", "dup_cluster_size"],
                                                   filter=ds.field("dup_cluster_size") > 1)
            for row in batch.to_pylist())
    chosen = heapq.nsmallest(top, scan, key=lambda row: (-row["dup_cluster_size"], row["dup_cluster"]))
    texts = kept_rows.to_table(columns=["id", "text"], filter=ds.field("id").isin([row["id"] for row in chosen]))
    text_of = dict(zip(texts.column("id").to_pylist(), texts.column("text").to_pylist()))
    clusters = {row["dup_cluster"]: Cluster(row["dup_cluster"], row["dup_cluster_size"],
                                            Member(row["id"], text_of[row["id"]], None)) for row in chosen}
    rejected = _dataset(stage_dir, REJECTED_DIR)
    if rejected is not None and clusters:
        table = rejected.to_table(columns=["id", "text", "dup_cluster", REJECT_REASON],
                                  filter=ds.field("dup_cluster").isin(list(clusters)))
        for row in sorted(table.to_pylist(), key=lambda row: row["id"]):
            clusters[row["dup_cluster"]].removed.append(Member(row["id"], row["text"], row[REJECT_REASON]))
    return list(clusters.values())


def near_duplicates(stage_dir: str, doc_id: str, limit: int) -> tuple[Member, list[Member]]:
    """The document `doc_id` and up to `limit` rows that are its near duplicates or LSH candidates.

    A row qualifies if it is in the document's cluster or shares an LSH band with it; each
    comes with the MinHash estimate and the exact Jaccard similarity, best first.
    """
    stats = _dedup_output(stage_dir)
    config = DedupConfig.model_validate(stats["config"])
    bands, rows = stats["extra"]["bands"], stats["extra"]["rows"]
    query = next((row for rows_ in _scan(stage_dir, ds.field("id") == doc_id) for row in rows_), None)
    if query is None:
        raise InputError(f"no document with id {doc_id} in {stage_dir}")
    query_signature, has_shingles = _signatures([query], config)
    if not has_shingles[0]:
        raise InputError(f"document {doc_id} has fewer than {config.ngram} words: it has no MinHash signature")
    query_bands = band_keys(query_signature, bands, rows)[0]
    found = []
    for batch in _scan(stage_dir):
        signatures, has_shingles = _signatures(batch, config)
        estimated = (signatures == query_signature).mean(axis=1)
        shares_band = np.isin(band_keys(signatures, bands, rows), query_bands).any(axis=1) & has_shingles
        for i, row in enumerate(batch):
            same_cluster = query["dup_cluster"] is not None and row["dup_cluster"] == query["dup_cluster"]
            if row["id"] != doc_id and (same_cluster or shares_band[i]):
                found.append(Member(row["id"], row["text"], row["reason"], row["dup_cluster"], float(estimated[i])))
    found = sorted(found, key=lambda member: (-member.estimated, member.id))[:limit]
    hashes, offsets = shingle_hashes(normalize_batch([query["text"], *(member.text for member in found)]), config.ngram)
    for i, member in enumerate(found, start=1):
        member.exact = jaccard(hashes[offsets[0]:offsets[1]], hashes[offsets[i]:offsets[i + 1]])
    target = Member(doc_id, query["text"], query["reason"], query["dup_cluster"])
    return target, sorted(found, key=lambda member: (-member.exact, member.id))


def _scan(stage_dir: str, where: ds.Expression | None = None) -> Iterator[list[dict]]:
    """Rows of data/ and rejected/ in batches: id, text, dup_cluster, reason and minhash (if stored)."""
    for part in (DATA_DIR, REJECTED_DIR):
        dataset = _dataset(stage_dir, part)
        if dataset is None:
            continue
        columns = [name for name in ("id", "text", "dup_cluster", REJECT_REASON, "minhash")
                   if name in dataset.schema.names]
        for batch in dataset.to_batches(columns=columns, filter=where):
            rows = batch.to_pylist()
            for row in rows:
                row["reason"] = row.pop(REJECT_REASON, None)
            yield rows


def _signatures(rows: list[dict], config: DedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """(signatures, has_shingles) of `rows`: stored ones where present, else computed from the text."""
    hasher = config.hasher
    missing = [i for i, row in enumerate(rows) if row.get("minhash") is None]
    signatures, has_shingles = hasher.signatures([rows[i]["text"] for i in missing])
    out = np.empty((len(rows), config.num_perm), dtype=hasher.dtype)
    present = np.ones(len(rows), dtype=bool)
    out[missing], present[missing] = signatures, has_shingles
    for i, row in enumerate(rows):
        if row.get("minhash") is not None:
            out[i] = signature_from_bytes(row["minhash"], config.scheme)
    return out, present
