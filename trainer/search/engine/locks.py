"""One writer per search folder and per run: a folder lock for the search, a heartbeat lease per run.

The search process holds an exclusive `flock` on `<out_dir>/search.lock` for as long as it
lives, and writes its host and pid into the file, so a second `dataflow search ... --resume` on
the same folder is refused with the holder named. The kernel drops the lock when its holder dies
(SIGKILL, OOM), so a lock left by a dead search is simply taken over. On a local disk that is
exact; on NFS, Linux turns `flock` into a byte-range lock that an NFSv4 (or NFSv3 with lockd)
server arbitrates between clients, but a mount with `nolock` keeps locks local to each client:
there two hosts can both start, and only the run leases below keep them off each other's runs.

A run's worker writes `runs/<run>/lease.json` (host, pid, heartbeat time) before its first try
and refreshes the heartbeat every `HEARTBEAT_SECONDS` from a thread while it trains. Another
worker reaching the same run (a resume while a worker of a killed search still trains, a
retried Spark task, a requeued Slurm job) waits while the lease is live, and takes it over when
its holder is a dead process on this host, or when the heartbeat is older than `STALE_SECONDS`
(a dead or unreachable host; clocks of the hosts must agree to well within that).

A search folder on an object store (`out_dir: s3://...`) has no flock: its lock is the object
`search.lock` itself (`StoreLock`), created only when absent (S3's conditional PUT, `If-None-Match:
*`) and holding the same host, pid and a heartbeat that a thread refreshes every `HEARTBEAT_SECONDS`
with a conditional overwrite (`If-Match` on the ETag it last wrote). The holder deletes it when the
search process exits. A lock left by a search that died (kill -9, a lost host) is taken over once
its holder is a dead process on this host or its heartbeat is older than `STALE_SECONDS`, again with
`If-Match` on the ETag read, so of two searches taking over at once exactly one wins, and a holder
whose lock was taken over sees its next heartbeat refused and says so. On S3 (and S3 APIs that honour
conditional writes: MinIO, moto) that is one writer per folder, as flock gives on a local disk, except
that a search on another host waits out `STALE_SECONDS` after a crash. Stores without conditional
overwrites (fsspec's other backends) get a read-then-write takeover and heartbeat: two searches
taking over the same stale lock in the same instant could both start, and then only the run leases
keep them off each other's runs.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Self

from dataflow.errors import ConfigError
from dataflow.object_store import StorePath, url_fs
from trainer.search.engine.layout import LEASE, LOCK
from trainer.search.engine.store import process_alive, read_json, write_json

log = logging.getLogger("trainer.search")
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 60.0
_HELD: dict[Path, Any] = {}
"""Folder locks held by this process, open until it exits: one process is one writer."""


def lock_folder(root: Path) -> None:
    """Take the search folder's lock for the rest of this process, or refuse naming the holder."""
    root = root.resolve()
    if root in _HELD:
        return
    if isinstance(root, StorePath):
        _HELD[root] = StoreLock(root).take()
        return
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _parse(handle.read())
        handle.close()
        raise _in_use(root, holder) from None
    except OSError as err:  # a filesystem without locks (some FUSE and object-store mounts): leases only
        log.warning("%s: the filesystem refuses file locks (%s); only the run leases keep two searches apart",
                    root, err)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(_me()) + "\n")
    handle.flush()
    os.fsync(handle.fileno())
    _HELD[root] = handle


def release_folder(root: Path | StorePath) -> None:
    """Let the folder lock go before this process exits (on a store: delete the lock object, stop its
    heartbeat); a process that exits lets it go anyway."""
    held = _HELD.pop(root.resolve(), None)
    if isinstance(held, StoreLock):
        held.release()
    elif held is not None:
        held.close()


def _in_use(root: Path | StorePath, holder: dict[str, Any]) -> ConfigError:
    return ConfigError(f"{root} is in use by another search (pid {holder.get('pid', '?')} on host "
                       f"{holder.get('host', '?')}, since {holder.get('since', '?')}); wait for it to end or "
                       "stop that process, then --resume")


class StoreLock:
    """The folder lock of a search folder on an object store: the object `search.lock`, created only when
    absent and kept alive by a heartbeat (the module's docstring says what it guarantees)."""

    def __init__(self, root: StorePath):
        self.root, self.path = root, root / LOCK
        self.fs, self.key = url_fs(str(self.path))
        self.etag: str | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def take(self) -> Self:
        while self.etag is None:
            try:
                self.etag = self._write(create=True)
            except FileExistsError:
                try:
                    etag = self._etag()  # first: a change after it (a heartbeat, a taker) fails the If-Match below
                except FileNotFoundError:  # its holder let it go meanwhile: create it again
                    continue
                holder = _read_lease(self.path)
                if _live(holder):
                    raise _in_use(self.root, holder) from None
                log.info("%s: taking over the lock of a search that is gone (pid %s on %s, last heartbeat %.0f s "
                         "ago)", self.root, holder.get("pid"), holder.get("host"),
                         time.time() - float(holder.get("heartbeat", 0)))
                try:
                    self.etag = self._write(expected=etag)
                except (FileNotFoundError, _Changed):  # another search took it over first
                    raise _in_use(self.root, _read_lease(self.path)) from None
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock {self.root}", daemon=True)
        self._beat.start()
        atexit.register(self.release)
        return self

    def release(self) -> None:
        """Stop the heartbeat and delete the lock object, if it is still the one this process wrote."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with contextlib.suppress(Exception):  # at exit, or the lock already taken over: nothing to undo
            if self.etag is not None and self._etag() == self.etag:
                bucket, key = self._bucket_key()
                if bucket is not None:
                    self.fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=self.etag)
                else:
                    self.fs.rm_file(self.key)
        self.etag = None

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.etag = self._write(expected=self.etag)
            except (FileNotFoundError, _Changed):
                holder = _read_lease(self.path)
                log.error("%s: this search's lock was taken over by pid %s on %s (no heartbeat seen for %.0f s); "
                          "stop this search: two searches now write the folder", self.root, holder.get("pid"),
                          holder.get("host"), STALE_SECONDS)
                return
            except OSError as err:  # the store is unreachable for now: the next beat tries again
                log.warning("%s: the lock's heartbeat failed (%s); retrying", self.root, err)

    def _bucket_key(self) -> tuple[str | None, str]:
        """S3's bucket and key, for its conditional writes; (None, path) on stores without them."""
        if hasattr(self.fs, "call_s3"):
            bucket, key, _ = self.fs.split_path(self.key)
            return bucket, key
        return None, self.key

    def _etag(self) -> str:
        self.fs.invalidate_cache()
        info = self.fs.info(self.key)
        return str(info.get("ETag") or info.get("mtime") or info.get("LastModified") or info.get("size"))

    def _write(self, create: bool = False, expected: str | None = None) -> str:
        """Write this process's holder record: only if absent (`create`, else FileExistsError), or only over
        the version `expected` (else `_Changed`); return the version written."""
        body = json.dumps(_me()).encode()
        bucket, key = self._bucket_key()
        if bucket is not None:
            condition = {"IfNoneMatch": "*"} if create else {"IfMatch": expected}
            try:
                return self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body, **condition)["ETag"]
            except FileExistsError:
                raise
            except OSError as err:
                if err.errno == errno.EINVAL:  # s3fs's spelling of 412 Precondition Failed
                    raise _Changed(str(err)) from None
                raise
        if create:
            self.fs.pipe_file(self.key, body, mode="create")
        elif self._etag() != expected:  # no conditional overwrite here: check, then write (the weaker lock)
            raise _Changed(self.key)
        else:
            self.fs.pipe_file(self.key, body)
        return self._etag()


class _Changed(Exception):
    """The lock object is no longer the version this process read or wrote."""


class RunLease:
    """`with RunLease(folder):` waits for the run to be free, holds it with a heartbeat, then lets it go."""

    def __init__(self, folder: Path, poll_seconds: float = 2.0):
        self.path, self.poll_seconds = folder / LEASE, poll_seconds
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> Self:
        announced = False
        while (holder := live_holder(self.path)) is not None:
            if not announced:
                log.info("%s: another worker trains it (pid %s on %s); waiting for it to end or go stale",
                         self.path.parent.name, holder["pid"], holder["host"])
                announced = True
            time.sleep(self.poll_seconds)
        write_json(self.path, _me())
        self._beat = threading.Thread(target=self._heartbeat, name=f"lease {self.path.parent.name}", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if _is_mine(_read_lease(self.path)):
            self.path.unlink(missing_ok=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            lease = _read_lease(self.path)
            if not _is_mine(lease):
                log.warning("%s: the run's lease was taken over by pid %s on %s (no heartbeat seen for %.0f s)",
                            self.path.parent.name, lease.get("pid"), lease.get("host"), STALE_SECONDS)
                return
            write_json(self.path, _me())


def live_holder(path: Path) -> dict[str, Any] | None:
    """The lease at `path` when another process holds it and is alive; None when the run is free to take."""
    lease = _read_lease(path)
    return lease if _live(lease) else None


def _live(lease: dict[str, Any]) -> bool:
    """Whether a lease (or a store's folder lock) is held by another process that is alive."""
    if not lease or _is_mine(lease):
        return False
    if lease.get("host") == socket.gethostname() and not process_alive(lease.get("pid")):
        return False
    return time.time() - float(lease.get("heartbeat", 0)) <= STALE_SECONDS


def _me() -> dict[str, Any]:
    now = time.time()
    return {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": now,
            "since": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))}


def _is_mine(lease: dict[str, Any]) -> bool:
    return lease.get("host") == socket.gethostname() and lease.get("pid") == os.getpid()


def _read_lease(path: Path) -> dict[str, Any]:
    try:
        return read_json(path)
    except (FileNotFoundError, ValueError):  # no lease, or one torn by a writer of an older version
        return {}


def _parse(text: str) -> dict[str, Any]:
    try:
        return json.loads(text)
    except ValueError:
        return {}
