"""`dataflow sample-warcs`: write the sample crawl and its ground-truth manifest.

The sample is the project's embedded default input: a machine without network runs the
whole pipeline on it. `manifest.jsonl` beside the WARC files has one row per capture (url,
kind, status, content type, language, true encoding, WARC file and offset, and per kind the
variant, duplicate family, edits, or planted benchmark items), so tests of every later
stage can check their results against what was planted.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from dataflow.errors import ConfigError, InputError
from dataflow.samples.benchmark import benchmark_path
from dataflow.samples.captures import build_captures
from dataflow.samples.cc_warc import CrawlWarc
from dataflow.samples.plan import MIN_PAGES

MANIFEST_NAME = "manifest.jsonl"
#: Common Crawl's file name shape (`CC-MAIN-<segment start>-<segment end>-00000.warc.gz`), with
#: SAMPLE in place of the segment so that no one takes the files for a real crawl. Names do
#: not depend on the seed, so a rerun into the same folder replaces the files.
FILE_NAME = "CC-MAIN-SAMPLE-20240518-{index:05d}.warc.gz"


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample_warcs` wrote."""

    warc_paths: tuple[Path, ...]
    manifest_path: Path
    benchmark_path: Path
    """The sample benchmark (JSONL, fields `question`, `answer`) whose items some pages quote."""
    counts: dict[str, int]
    """Captures per kind: the HTML page kinds (summing to `num_pages`) and non_html, redirect, revisit."""
    num_pages: int
    leaked_items: tuple[str, ...]
    """Benchmark item ids planted in at least one page."""
    num_bytes: int


def write_sample_warcs(out_dir: str | os.PathLike, *, num_pages: int = 2000, num_files: int = 4,
                       seed: int = 0) -> SampleSummary:
    """Write `num_files` gzip-per-record WARC files holding `num_pages` HTML pages, plus the manifest.

    The same arguments give byte-identical files. Besides the HTML pages the files hold
    non-HTML responses, redirects and revisits (about 1.5% more captures), each capture with
    its request and metadata records.
    """
    out = _prepare(Path(out_dir), num_pages, num_files)
    captures = build_captures(num_pages, seed)
    start = datetime(2024, 5, 18) + timedelta(minutes=random.Random(f"{seed}/clock").randrange(24 * 60))
    rows, paths = [], []
    for index in range(num_files):
        name = FILE_NAME.format(index=index)
        chunk = captures[index * len(captures) // num_files:(index + 1) * len(captures) // num_files]
        with _atomic(out / name) as stream:
            warc = CrawlWarc(stream, filename=name, seed=seed, start=start + timedelta(hours=3 * index))
            warc.write_warcinfo()
            for capture in chunk:
                offset, record_id, date = warc.write_capture(capture)
                rows.append({**capture.manifest_row(), "warc_file": name, "warc_offset": offset,
                             "record_id": record_id, "fetch_time": date})
        paths.append(out / name)
    manifest = out / MANIFEST_NAME
    with _atomic(manifest) as stream:
        stream.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8"))
    leaked = sorted({item for row in rows for item in row.get("benchmark_items", ())})
    counts = dict(sorted(Counter(row["kind"] for row in rows).items()))
    return SampleSummary(tuple(paths), manifest, benchmark_path(), counts, num_pages, tuple(leaked),
                         sum(path.stat().st_size for path in paths))


def _prepare(out: Path, num_pages: int, num_files: int) -> Path:
    """Check the arguments and the folder; refuse to mix with WARC files of another run."""
    if num_pages < MIN_PAGES:
        raise ConfigError(f"--pages (num_pages) must be at least {MIN_PAGES} so that every page kind and site "
                          f"appears; got {num_pages}")
    if not 1 <= num_files <= num_pages:
        raise ConfigError(f"num_files must be between 1 and num_pages ({num_pages}); got {num_files}")
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {out} is a file; give a folder path (it is created if missing)")
    ours = {FILE_NAME.format(index=index) for index in range(num_files)}
    strangers = sorted(p.name for p in out.glob("*.warc*") if p.name not in ours) if out.exists() else []
    if strangers:
        raise InputError(f"{out} already holds other WARC files ({strangers[0]}, ...) that a glob over it would mix "
                         "with the sample; write to an empty folder or remove them")
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[BinaryIO]:
    """Write to `<path>.tmp` and rename into place on success, so a crash leaves no half file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as stream:
            yield stream
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
