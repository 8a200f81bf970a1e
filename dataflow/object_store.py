"""Outputs and token data on object storage (s3://, gs://, any fsspec store), written from Python.

Spark's own writes (the documents stages' Parquet) go through Hadoop's connectors (`s3a://`,
`gs://` as the cluster provides them, `jobs/common/stage_io.py`'s HadoopFS). What Python writes
itself (a tokenizer, token shards, checkpoints) goes through fsspec, from here: `FsspecFS` keeps
the stage contract of dataflow/stage.py (a temporary prefix, stats.json listing every file,
`_SUCCESS` written last in the final place) on a store whose "rename" is a copy then a delete.

Where the store is, and how to log in, is the user's fsspec/botocore setup, never a flag of ours:
`AWS_ENDPOINT_URL` (or `FSSPEC_S3_ENDPOINT_URL`, or `~/.config/fsspec/s3.json`) for an S3 API
other than AWS's (MinIO, moto, Ceph), credentials from the usual AWS chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec

from dataflow.atomic import write_text
from dataflow.remote import fsspec_url, is_remote, local_path, storage_options_for


def is_store(path: str | Path) -> bool:
    """Whether `path` names an object store (a URL other than file://), not a local or mounted path."""
    return is_remote(str(path))


def join(base: str | Path, *names: str) -> str | Path:
    """`base/names...`, keeping a URL a URL (pathlib would turn `s3://b` into `s3:/b`)."""
    if isinstance(base, Path) or not is_store(base):
        return Path(base, *names)
    return posixpath.join(str(base).rstrip("/"), *names)


def hadoop_url(url: str) -> str:
    """The URL Spark's own readers and writers take: Hadoop spells fsspec's `s3://` `s3a://`."""
    return "s3a://" + url[len("s3://"):] if url.startswith("s3://") else url


def file_size(path: str | Path) -> int:
    """A file's size in bytes, local or on a store."""
    return version(str(path))[0] if is_store(path) else Path(path).stat().st_size


def url_fs(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of `url` and the path inside it (`s3a://` read as `s3://`)."""
    url = fsspec_url(url)
    return fsspec.core.url_to_fs(url, **storage_options_for(url))


def read_bytes(url: str, start: int | None = None, end: int | None = None) -> bytes:
    """A whole object, or its bytes [start, end) with one range request."""
    fs, path = url_fs(url)
    return fs.cat_file(path, start=start, end=end)


def write_bytes(url: str, data: bytes) -> None:
    """One object, whole: an S3 PUT is atomic, readers see the old object or the new one."""
    fs, path = url_fs(url)
    fs.pipe_file(path, data)


def upload(local: str | Path, url: str) -> None:
    """Copy a local file, or a folder's files (same relative names), to `url`."""
    fs, path = url_fs(url)
    local = Path(local)
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    for file in files:
        name = path if file == local else posixpath.join(path, file.relative_to(local).as_posix())
        fs.put_file(str(file), name)


def download(url: str, local: str | Path) -> Path:
    """Copy one object to a local file (its folder created)."""
    fs, path = url_fs(url)
    local = Path(local)
    local.parent.mkdir(parents=True, exist_ok=True)
    fs.get_file(path, str(local))
    return local


class FsspecFS:
    """The stage contract's file operations (dataflow/stage.py, StageFS) on an fsspec store.

    Paths are URLs. Folders are prefixes: one exists when an object lies under it. `rename`
    copies every object then deletes the source, which is why `publish` writes stats.json (the
    listing) before and `_SUCCESS` after it.
    """

    def _fs(self, url: str) -> tuple[fsspec.AbstractFileSystem, str]:
        return url_fs(url)

    def exists(self, url: str) -> bool:
        fs, path = self._fs(url)
        fs.invalidate_cache()  # another process (a rank, a rerun) may have written since
        return fs.exists(path)

    def delete(self, url: str) -> None:
        fs, path = self._fs(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)

    def rename(self, src: str, dst: str) -> None:
        fs, path = self._fs(src)
        _, target = self._fs(dst)
        for name in self.file_sizes(src):
            fs.copy(posixpath.join(path, name), posixpath.join(target, name))
        fs.rm(path, recursive=True)

    def write_bytes(self, url: str, data: bytes) -> None:
        write_bytes(url, data)

    def read_bytes(self, url: str) -> bytes:
        return read_bytes(url)

    def entries(self, url: str) -> list[str] | None:
        """Names in folder `url`, or None when nothing is there."""
        fs, path = self._fs(url)
        fs.invalidate_cache()
        if not fs.exists(path):
            return None
        return [posixpath.basename(name.rstrip("/")) for name in fs.ls(path, detail=False)]

    def file_sizes(self, url: str) -> dict[str, int]:
        fs, path = self._fs(url)
        fs.invalidate_cache()
        base = path.rstrip("/") + "/"
        return {name.removeprefix(base): info["size"] for name, info in fs.find(path, detail=True).items()
                if info.get("type") != "directory"}

    def siblings(self, pattern: str) -> list[str]:
        fs, path = self._fs(pattern)
        fs.invalidate_cache()
        protocol = fsspec_url(pattern).split("://", 1)[0]
        return [f"{protocol}://{name}" for name in fs.glob(path)]



@contextmanager
def staged(folder: str) -> Iterator[Path]:
    """A local folder whose files end up in `folder`: the folder itself when it is local (a path or
    file:// URL), else a temporary one uploaded when the block succeeds (nothing is uploaded on error)."""
    if not is_store(folder):
        path = Path(local_path(folder))
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="dataflow-staged-") as tmp:
        yield Path(tmp)
        upload(tmp, folder)


def cache_dir() -> Path:
    """This machine's cache of objects read from stores: DATAFLOW_CACHE, default ~/.cache/dataflow."""
    return Path(os.environ.get("DATAFLOW_CACHE") or Path.home() / ".cache" / "dataflow")


def version(url: str) -> list:
    """What tells an object's versions apart without reading it: size and ETag (mtime on stores without one)."""
    fs, path = url_fs(url)
    fs.invalidate_cache(path)  # listings cached by this process go stale when other processes write
    info = fs.info(path)
    return [info["size"], str(info.get("ETag") or info.get("mtime") or info.get("LastModified"))]


def local_copy(path: str | Path) -> Path:
    """A local file with the bytes of `path`: the file itself, or for an object (a tokenizer.json on S3) a
    copy under cache_dir(), fetched once per object version and shared by the machine's processes, so
    libraries that open files by name (tokenizers, tiktoken) read it."""
    if not is_store(path):
        return Path(local_path(str(path)))
    key = hashlib.sha256(json.dumps([str(path), version(str(path))]).encode()).hexdigest()[:32]
    target = cache_dir() / "objects" / key / posixpath.basename(str(path).rstrip("/"))
    if not target.is_file():
        tmp = download(str(path), target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"))
        os.replace(tmp, target)  # two processes fetching at once both rename the same bytes
    return target


def scratch_for(directory: str | Path) -> Path:
    """Where a writer of files bound for `directory` keeps them until `place`: the folder itself when
    it is local (a rename then puts them in place), else a new local temporary folder."""
    if is_store(directory):
        return Path(tempfile.mkdtemp(prefix="dataflow-scratch-"))
    Path(directory).mkdir(parents=True, exist_ok=True)
    return Path(directory)


def place(tmp: Path, directory: str | Path, name: str) -> None:
    """Put the finished file `tmp` in place as `directory/name`: one rename on disk, one upload to a
    store (an S3 PUT is atomic: readers see the whole object or none), after which `tmp` is deleted."""
    if is_store(directory):
        upload(tmp, join(directory, name))
        tmp.unlink()
        with contextlib.suppress(OSError):  # the scratch folder, once its last file is placed
            tmp.parent.rmdir()
    else:
        os.replace(tmp, Path(directory, name))


def write_text_file(path: str | Path, text: str) -> None:
    """A small file (a manifest) written whole: through a temporary name and a rename on disk, one PUT on a store."""
    if is_store(path):
        write_bytes(str(path), text.encode("utf-8"))
    else:
        write_text(path, text)


class StorePath:
    """A pathlib-like handle on a key of an object store, for code written against `Path` (the search's run
    store): `/`, `name`, `parent`, `is_file`, `is_dir`, `iterdir`, `read_text`, `unlink`; `mkdir` is a no-op
    (a prefix exists once an object lies under it). Whole-file writes go through `dataflow.atomic`, which
    writes one object per file (a single PUT: readers see the old object or the new one, never a part).
    Every query asks the store again: other processes (workers, another host) write the same keys."""

    def __init__(self, url: str):
        self.url = fsspec_url(str(url)).rstrip("/")

    def __truediv__(self, name: str) -> StorePath:
        return StorePath(posixpath.join(self.url, str(name)))

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"StorePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __lt__(self, other: StorePath) -> bool:
        return self.url < other.url

    @property
    def name(self) -> str:
        return posixpath.basename(self.url)

    @property
    def parent(self) -> StorePath:
        protocol, _, key = self.url.partition("://")
        return StorePath(f"{protocol}://{posixpath.dirname(key) or key}")

    def resolve(self) -> StorePath:
        return self

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        fs, path = url_fs(self.url)
        fs.invalidate_cache()
        return fs, path

    def exists(self) -> bool:
        fs, path = self._fs()
        return fs.exists(path)

    def is_file(self) -> bool:
        fs, path = self._fs()
        return fs.isfile(path)

    def is_dir(self) -> bool:
        fs, path = self._fs()
        return fs.isdir(path)

    def iterdir(self) -> Iterator[StorePath]:
        fs, path = self._fs()
        if not fs.isdir(path):
            raise FileNotFoundError(self.url)
        for name in fs.ls(path, detail=False):
            yield self / posixpath.basename(name.rstrip("/"))

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: an object store's folders are the prefixes of its keys."""

    def read_bytes(self) -> bytes:
        return read_bytes(self.url)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def unlink(self, missing_ok: bool = False) -> None:
        fs, path = self._fs()
        try:
            fs.rm_file(path)
        except FileNotFoundError:
            if not missing_ok:
                raise


def as_path(location: str | Path | StorePath) -> Path | StorePath:
    """A `StorePath` for an object-store URL, else a `Path` (a local path, or a file:// URL's path)."""
    if isinstance(location, Path | StorePath):
        return location
    return StorePath(location) if is_store(location) else Path(local_path(str(location)))
