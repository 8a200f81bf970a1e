"""Opening input files by URL: local paths, http(s)://, s3:// (fsspec), with retries.

Common Crawl's S3 and HTTPS front ends answer `503 SlowDown` under load; a long job must
back off and carry on instead of failing a task. `open_binary` returns a file object that
reopens the remote file at the current offset after a transient error, with exponential
backoff and jitter. Local paths bypass fsspec entirely (plain `open`, no overhead).
"""

from __future__ import annotations

import io
import logging
import random
import time
from typing import Any

import fsspec

log = logging.getLogger(__name__)

#: Errors that retrying cannot fix.
PERMANENT_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


class TransientReadError(Exception):
    """A remote read that still failed after every retry: the network's fault, not the file's.

    Deliberately not an OSError: readers count OSErrors as broken files, while this must fail
    the task, so that Spark retries it and the stage fails loudly if the file stays unreachable.
    """


def is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def local_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def storage_options_for(path: str, s3_anonymous: bool = False) -> dict[str, Any]:
    """fsspec options per protocol: anonymous S3 when asked, and botocore's adaptive retries."""
    if path.startswith(("s3://", "s3a://")):
        return {"anon": s3_anonymous, "config_kwargs": {"retries": {"max_attempts": 10, "mode": "adaptive"}}}
    return {}


def fsspec_url(path: str) -> str:
    """Spark spells S3 `s3a://`; fsspec spells it `s3://`."""
    return "s3://" + path[len("s3a://"):] if path.startswith("s3a://") else path


def open_binary(path: str, *, s3_anonymous: bool = False, max_retries: int = 8,
                backoff_seconds: float = 1.0) -> io.BufferedReader:
    """Open `path` for streaming reads; remote files retry transient errors with backoff."""
    if not is_remote(path):
        return open(local_path(path), "rb")
    url = fsspec_url(path)
    fs, fs_path = fsspec.core.url_to_fs(url, **storage_options_for(url, s3_anonymous))
    raw = RetryingReader(fs, fs_path, max_retries=max_retries, backoff_seconds=backoff_seconds)
    return io.BufferedReader(raw, buffer_size=1 << 20)


class RetryingReader(io.RawIOBase):
    """A read-only raw stream over an fsspec file that survives transient failures.

    On an error other than a permanent one (missing file, permission), it waits
    `backoff_seconds * 2**attempt` (with jitter, capped at 60 s), reopens the file and seeks
    back to where it was, up to `max_retries` times in a row; then it raises TransientReadError.
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, path: str, *, max_retries: int, backoff_seconds: float):
        super().__init__()
        self._fs, self._path = fs, path
        self._max_retries, self._backoff = max_retries, backoff_seconds
        self._pos = 0
        self._file = self._with_retries(self._open)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._with_retries(lambda: self._read(len(buffer)))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self._with_retries(lambda: self._fs.size(self._path))
        self._pos = offset
        if self._file is not None:
            self._drop_file()  # reopened lazily at the new position: one code path for both cases
        return offset

    def close(self) -> None:
        self._drop_file()
        super().close()

    def _open(self):
        handle = self._fs.open(self._path, "rb")
        if self._pos:
            handle.seek(self._pos)
        return handle

    def _read(self, size: int) -> bytes:
        if self._file is None:
            self._file = self._open()
        return self._file.read(size)

    def _with_retries(self, action):
        attempt = 0
        while True:
            try:
                return action()
            except PERMANENT_ERRORS:
                raise
            except Exception as err:  # network stacks raise many types; all transient here
                if attempt >= self._max_retries:
                    raise TransientReadError(f"giving up on {self._path} after {attempt} retries: "
                                             f"{type(err).__name__}: {err}") from err
                delay = min(60.0, self._backoff * 2 ** attempt) * (0.5 + random.random() / 2)
                log.warning("retrying %s at byte %d in %.1fs after: %s", self._path, self._pos, delay, err)
                time.sleep(delay)
                attempt += 1
                self._drop_file()

    def _drop_file(self) -> None:
        if self._file is None:
            return
        try:
            self._file.close()
        except Exception:  # a broken connection may fail to close; it is replaced anyway
            pass
        self._file = None
