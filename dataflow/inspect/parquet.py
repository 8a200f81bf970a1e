"""Inspecting Parquet: stage folders (data/ and rejected/), rejected/ alone, any Parquet folder.

One streamed scan (pyarrow dataset, only the needed columns, `--where` pushed down) feeds
the breakdowns and histograms; `--sample N` then takes N rows at seeded random positions of
the filtered rows (`Dataset.take`), so no more than a batch and the samples are in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dataflow.errors import InputError
from dataflow.inspect.accumulate import NumericColumn, TopValues
from dataflow.inspect.funnel import chain_to, funnel_table, stage_stats
from dataflow.inspect.options import InspectOptions
from dataflow.inspect.report import Report, Table
from dataflow.inspect.where import parse_where
from dataflow.schema import REJECT_REASON, REJECT_VALUE
from dataflow.stage import DATA_DIR, REJECTED_DIR

#: Columns broken down by value when present.
CATEGORICAL = ("source", "language", "domain", "crawl", "split", "reject_reason")
#: Numeric columns that are positions, not measurements: no histogram.
POSITIONS = {"warc_offset", "shard", "document"}
#: Derived from `text`: its length in characters.
TEXT_CHARS = "text_chars"
#: Columns of the `--rejected` examples, the text cut to SNIPPET_CHARS.
EXAMPLE_COLUMNS = ("id", "url", REJECT_REASON, REJECT_VALUE, "text")
SNIPPET_CHARS = 160
BATCH_ROWS = 65_536


def open_parquet(path: Path) -> ds.Dataset:
    try:
        dataset = ds.dataset(str(path), format="parquet", ignore_prefixes=[".", "_"])
    except (OSError, pa.ArrowInvalid) as err:
        raise InputError(f"{path} is not readable as Parquet ({str(err).splitlines()[0]})") from None
    if not dataset.files:
        raise InputError(f"{path} holds no Parquet files")
    return dataset


def stage_report(path: Path, options: InspectOptions) -> Report:
    """A stage folder: its kept rows (data/), what it rejected, and the funnel that led to it."""
    report = parquet_report(path / DATA_DIR, options, kind="stage", shown_path=path)
    stats = stage_stats(path)
    if stats is not None:
        report.summary = {"stage": stats.get("stage"), **report.summary}
        if "rows_rejected" in stats:
            report.summary["rows rejected"] = stats["rows_rejected"]
        reasons = sorted((stats.get("rejected_by_reason") or {}).items(), key=lambda item: -item[1])
        if reasons:
            report.tables["rejected by reason (stats.json)"] = Table(["reason", "rows"], [list(r) for r in reasons])
        report.tables["funnel"] = funnel_table(chain_to(path))
        line_rules = (stats.get("extra") or {}).get("line_rules") or {}
        if line_rules:
            report.tables["line rules: lines removed from kept documents (stats.json)"] = Table(
                ["line rule", "lines", "characters"], [[name, f["lines"], f["chars"]] for name,
                                                       f in line_rules.items()])
        for key, title, unit in (("text_fixes", "text repaired, per kind (stats.json)", "documents"),
                                 ("pii", "personal data found in kept documents, per kind (stats.json)", "findings")):
            counts = (stats.get("extra") or {}).get(key) or {}
            if counts:
                report.tables[title] = Table(["kind", unit], [[kind, count] for kind, count in counts.items()])
    else:
        report.summary["complete"] = "no (_SUCCESS missing: the stage did not finish)"
    if (path / REJECTED_DIR).is_dir() and not options.where:
        report.summary["rejected/ rows"] = open_parquet(path / REJECTED_DIR).count_rows()
    if options.rejected and (path / REJECTED_DIR).is_dir():
        wanted = set((stats or {}).get("rejected_by_reason") or {}) - set((stats or {}).get("not_written_reasons")
                                                                          or ())
        report.tables["rejected examples"] = Table(["reason", "id", "value", "url", "text"], [
            [reason, row.get("id"), row.get(REJECT_VALUE), row.get("url"),
             " ".join((row.get("text") or "").split())[:SNIPPET_CHARS]]
            for reason, rows in rejection_examples(path / REJECTED_DIR, wanted, options.rejected).items()
            for row in rows])
    if options.verify:
        verify_stage_counts(path, stats)
        report.summary["verified"] = "ok: data/ and rejected/ hold the rows stats.json counts"
    return report


def rejection_examples(rejected: Path, wanted: set[str], per_reason: int) -> dict[str, list[dict]]:
    """Up to `per_reason` rows of each reason in `rejected`: the scan stops once every reason
    in `wanted` has its examples, so a large rejected/ costs a few batches, not a full read."""
    dataset = open_parquet(rejected)
    columns = [name for name in EXAMPLE_COLUMNS if name in dataset.schema.names]
    examples: dict[str, list[dict]] = {}
    for batch in dataset.to_batches(columns=columns, batch_size=4096):
        for row in batch.to_pylist():
            found = examples.setdefault(row[REJECT_REASON], [])
            if len(found) < per_reason:
                found.append(row)
        if all(len(examples.get(reason, ())) >= per_reason for reason in wanted):
            break
    return dict(sorted(examples.items()))


def verify_stage_counts(path: Path, stats: dict | None) -> None:
    """The rows in data/ and rejected/ are the ones stats.json counts (Parquet footers only)."""
    if stats is None:
        raise InputError(f"{path} is not a complete stage output (no _SUCCESS or stats.json): rerun the stage")
    not_written = sum(stats["rejected_by_reason"].get(reason, 0) for reason in stats.get("not_written_reasons", []))
    for part, expected in ((DATA_DIR, stats["rows_out"]), (REJECTED_DIR, stats["rows_rejected"] - not_written)):
        actual = open_parquet(path / part).count_rows() if (path / part).is_dir() else 0
        if actual != expected:
            raise InputError(f"stage output {path}: {part}/ holds {actual:,} rows, stats.json says {expected:,}; "
                             "rerun the stage with --force")


def parquet_report(path: Path, options: InspectOptions, kind: str = "parquet", shown_path: Path | None = None,
                   weight: str | None = None) -> Report:
    """Counts, schema, breakdowns, histograms and samples of any Parquet folder or file.

    `weight` names a column summed per value in the breakdowns (tokens per language).
    """
    dataset = open_parquet(path)
    where = parse_where(options.where, dataset.schema) if options.where else None
    report = Report(kind=kind, path=str(shown_path or path))
    report.summary["rows"] = dataset.count_rows(filter=where)
    if where is not None:
        report.summary["where"] = options.where
        report.summary["rows (all)"] = dataset.count_rows()
    report.summary["files"] = len(dataset.files)
    report.summary["bytes on disk"] = sum(Path(file).stat().st_size for file in dataset.files)
    report.tables["schema"] = Table(["column", "type"], [[field.name, str(field.type)] for field in dataset.schema])
    _scan(dataset, where, options, report, weight if weight in dataset.schema.names else None)
    if options.sample:
        report.samples = sample_rows(dataset, where, report.summary["rows"], options.sample, options.seed)
    return report


def _scan(dataset: ds.Dataset, where, options: InspectOptions, report: Report, weight: str | None) -> None:
    names = dataset.schema.names
    categorical = [name for name in CATEGORICAL if name in names]
    numeric = [field.name for field in dataset.schema if field.name not in POSITIONS
               and (pa.types.is_integer(field.type) or pa.types.is_floating(field.type))]
    columns = {name: ds.field(name) for name in categorical + numeric + ([weight] if weight else [])}
    if "text" in names:
        columns[TEXT_CHARS] = pc.utf8_length(ds.field("text"))
    tops = {name: TopValues() for name in categorical}
    measures = {name: NumericColumn(options.seed) for name in numeric + ([TEXT_CHARS] if "text" in names else [])}
    # one batch in flight: pyarrow's default read-ahead (16 batches, 4 files) would hold
    # hundreds of MB of `text` for a length histogram (bench/report.py measures it)
    scanner = dataset.scanner(columns=columns, filter=where, batch_size=BATCH_ROWS, batch_readahead=1,
                              fragment_readahead=1)
    for batch in scanner.to_batches():
        weights = batch.column(weight).to_pylist() if weight else None
        for name, top in tops.items():
            top.add(batch.column(name).to_pylist(), weights)
        for name, measure in measures.items():
            column = batch.column(name)
            measure.add(column.drop_null().to_numpy(zero_copy_only=False), nulls=column.null_count)
    for name, top in tops.items():
        report.tables[f"by {name}"] = top.table(options.top, weight)
    for name, measure in measures.items():
        report.histograms[name] = measure.histogram(options.bins)


def sample_rows(dataset: ds.Dataset, where, num_rows: int, count: int, seed: int) -> list[dict]:
    """`count` rows at seeded random positions among the `num_rows` filtered rows, in position order."""
    if not num_rows:
        return []
    positions = np.sort(np.random.default_rng(seed).choice(num_rows, size=min(count, num_rows), replace=False))
    return dataset.take(positions, filter=where).to_pylist()
