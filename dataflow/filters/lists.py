"""Optional rules driven by user-supplied lists: a URL (domain) block list and banned words.

Neither is in the default rule order, because the lists are the user's: C4 removed pages
containing any word of the "List of Dirty, Naughty, Obscene or Otherwise Bad Words" (LDNOOBW;
../shared/data/text/lists/naughty_words_en.txt is a copy), and RefinedWeb/FineWeb block URLs
from the UT1 blacklist. A list file holds one entry per line; blank lines and lines starting
with "#" are ignored. The path is read with fsspec, so it may be local (visible to the
executors) or on hdfs/s3; it is read once per Python worker.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator

from dataflow.filters.rule import Count, MaxValue, Rule
from dataflow.filters.stats import TextStats
from dataflow.text import UNSPACED_LANGUAGES, normalize, unspaced_share


class _ListRule(Rule):
    path: str
    """File with one entry per line (local, hdfs://, s3://)."""

    @field_validator("path")
    @classmethod
    def _local_file_exists(cls, path: str) -> str:
        if "://" not in path and not os.path.isfile(path):
            raise ValueError(f"list file {path} does not exist")
        return path


class UrlBlocklist(_ListRule):
    """Reject documents whose URL host, or a parent domain of it, is on the block list."""

    name: ClassVar[str] = "url_blocklist"

    def measure(self, doc: TextStats) -> float | None:
        host = (urlsplit(doc.url).hostname or "") if doc.url else ""
        if not host:
            return None
        parts = host.split(".")
        blocked = read_list(self.path)
        return float(any(".".join(parts[i:]) in blocked for i in range(len(parts))))

    def rejects(self, value: float) -> bool:
        return value > 0


class BannedWords(_ListRule, MaxValue):
    """Reject documents containing banned words or phrases (C4's bad-words rule, with your list).

    Text and entries are compared in `dataflow.text.normalize` form (case-folded, punctuation
    dropped), entries on word boundaries; for Chinese, Japanese and Thai documents entries
    match anywhere, as words are not delimited there.
    """

    name: ClassVar[str] = "banned_words"
    threshold: ClassVar[str] = "max_count"

    max_count: Count = 0
    """Reject documents with more occurrences of listed entries than this."""

    def measure(self, doc: TextStats) -> float:
        unspaced = doc.language in UNSPACED_LANGUAGES or unspaced_share(doc.text[:2000]) > 0.5
        return len(banned_pattern(self.path, unspaced).findall(normalize(doc.text)))


@lru_cache(maxsize=8)
def read_list(path: str) -> frozenset[str]:
    """The entries of a list file, lower-cased."""
    import fsspec

    with fsspec.open(path, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=8)
def banned_pattern(path: str, unspaced: bool) -> re.Pattern:
    """One alternation of all entries in normalised form, longest first."""
    entries = sorted({normalize(entry) for entry in read_list(path)} - {""}, key=len, reverse=True)
    alternation = "|".join(map(re.escape, entries)) or "(?!)"
    return re.compile(f"(?:{alternation})" if unspaced else rf"(?<!\S)(?:{alternation})(?!\S)")
