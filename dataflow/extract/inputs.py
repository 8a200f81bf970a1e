"""Turning `--input` specs and `--crawl NAME` into the list of WARC files to read.

A spec is a glob (`out/warc/*.warc.gz`, `s3://bucket/x/*.warc.gz`), a directory, a text file
of paths (one per line, `#` comments), a Common Crawl listing (`warc.paths.gz` or `wet.paths.gz`; entries
are relative to `base_url`), or one WARC (or WET) file. Listings are read on the driver: they hold paths,
not data (a whole crawl's listing is ~90k lines).
"""

from __future__ import annotations

import gzip
import io
import posixpath

import fsspec

from dataflow.errors import InputError
from dataflow.remote import fsspec_url, open_binary, storage_options_for

COMMON_CRAWL_BASE_URL = "https://data.commoncrawl.org/"
#: `.wet`/`.wet.gz`: Common Crawl's WET files (`*.warc.wet.gz`, listed in `wet.paths.gz`), text already extracted.
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".warc.lz4", ".warc.zst", ".wet", ".wet.gz")
LISTING_SUFFIXES = (".paths", ".paths.gz", ".txt", ".txt.gz", ".lst")


def crawl_listing_url(crawl: str, base_url: str = COMMON_CRAWL_BASE_URL) -> str:
    """The WARC listing of a Common Crawl crawl, e.g. CC-MAIN-2024-22."""
    if not crawl.startswith("CC-MAIN-"):
        raise InputError(f"unknown crawl name {crawl!r}: Common Crawl names look like CC-MAIN-2024-22")
    return f"{base_url.rstrip('/')}/crawl-data/{crawl}/warc.paths.gz"


def resolve_inputs(specs: list[str], *, base_url: str | None = None, limit_files: int | None = None,
                   s3_anonymous: bool = False) -> list[str]:
    """All WARC paths named by `specs`, in a stable order, at most `limit_files` of them."""
    paths: list[str] = []
    for spec in specs:
        found = _resolve_one(spec, base_url, s3_anonymous)
        if not found:
            raise InputError(f"no WARC files found for input {spec!r}: check the path or glob "
                             f"(files must end in one of {', '.join(WARC_SUFFIXES)})")
        paths.extend(found)
    paths = list(dict.fromkeys(paths))  # the same file named twice is read once
    return paths[:limit_files] if limit_files else paths


def _resolve_one(spec: str, base_url: str | None, s3_anonymous: bool) -> list[str]:
    url = fsspec_url(spec)
    fs, fs_path = fsspec.core.url_to_fs(url, **storage_options_for(url, s3_anonymous))
    protocol = "" if "://" not in spec else spec.split("://", 1)[0] + "://"
    if any(char in spec for char in "*?["):
        return sorted(protocol + path if protocol else path for path in fs.glob(fs_path))
    if spec.endswith(LISTING_SUFFIXES):
        return _read_listing(spec, base_url, s3_anonymous)
    if spec.endswith(WARC_SUFFIXES):
        return [spec]
    if fs.isdir(fs_path):
        names = sorted(fs.find(fs_path))
        return [protocol + name if protocol else name for name in names if name.endswith(WARC_SUFFIXES)]
    raise InputError(f"input {spec!r} is neither a WARC file, a directory, a glob nor a listing "
                     f"(a listing ends in {', '.join(LISTING_SUFFIXES)})")


def _read_listing(spec: str, base_url: str | None, s3_anonymous: bool) -> list[str]:
    try:
        with open_binary(spec, s3_anonymous=s3_anonymous) as raw:
            data = raw.read()
    except FileNotFoundError:
        raise InputError(f"listing {spec} does not exist") from None
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    lines = [line.strip() for line in io.StringIO(data.decode("utf-8"))]
    entries = [line for line in lines if line and not line.startswith("#")]
    warcs = [entry for entry in entries if entry.endswith(WARC_SUFFIXES)]
    if entries and not warcs:
        raise InputError(f"listing {spec} names {len(entries)} files but no WARC files "
                         f"(first entry: {entries[0]}); pass a warc.paths.gz listing")
    if base_url is None:
        # Common Crawl listings hold paths relative to the bucket; other lists sit beside their files.
        base_url = COMMON_CRAWL_BASE_URL if spec.endswith((".paths", ".paths.gz")) else posixpath.dirname(spec)
    return [entry if "://" in entry or entry.startswith("/") else _join(base_url, entry) for entry in warcs]


def _join(base: str, relative: str) -> str:
    return f"{base.rstrip('/')}/{relative}" if base else relative
