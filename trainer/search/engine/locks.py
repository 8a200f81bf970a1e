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
"""

from __future__ import annotations

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
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _parse(handle.read())
        handle.close()
        raise ConfigError(f"{root} is in use by another search (pid {holder.get('pid', '?')} on host "
                          f"{holder.get('host', '?')}, since {holder.get('since', '?')}); wait for it to end or "
                          "stop that process, then --resume") from None
    except OSError as err:  # a filesystem without locks (some FUSE and object-store mounts): leases only
        log.warning("%s: the filesystem refuses file locks (%s); only the run leases keep two searches apart",
                    root, err)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(_me()) + "\n")
    handle.flush()
    os.fsync(handle.fileno())
    _HELD[root] = handle


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
    if not lease or _is_mine(lease):
        return None
    if lease.get("host") == socket.gethostname() and not process_alive(lease.get("pid")):
        return None
    if time.time() - float(lease.get("heartbeat", 0)) > STALE_SECONDS:
        return None
    return lease


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
