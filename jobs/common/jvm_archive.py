"""A class-data-sharing archive for the JVM that a plain `python`/`dataflow run` starts itself.

A small job spends much of its wall time starting Spark's JVM: loading and verifying the same
tens of thousands of classes every run (session start 18-19 s on two shared cores, about a
third of the 58 MB extract bench). Java 17 can write the classes a run loaded into an archive
when the JVM exits (`-XX:ArchiveClassesAtExit`) and map it at the next start
(`-XX:SharedArchiveFile`); measured on the same machine, session start fell to 7-11 s.

The archive is a cache, kept per machine under `$DATAFLOW_CACHE_DIR` (default
`~/.cache/dataflow`)/jvm, named by a hash of what it depends on (the java binary, pyspark's jars,
PYSPARK_SUBMIT_ARGS), so a different JDK, Spark or driver setting gets its own file:

- No archive yet: this run's JVM dumps into `<key>.<host>.<pid>.partial`. At exit (after Spark
  stops) the JVM's stdin is closed, which is how pyspark's gateway is told to exit, the JVM is
  waited for, and only a dump from a JVM that exited cleanly, and that a JVM started with the
  same options and classpath maps (`-Xshare:on -version` exits 0), is fsynced and renamed into
  place, so a reader never maps a half-written or unusable file. A run killed before that leaves
  a partial, removed later.
- A dump that fails leaves `<key>.failed`: for a day no run dumps again (a dump costs 20-30 s of
  each run's exit), then one tries again.
- A damaged archive is fatal to the JVM rather than ignored, so `get_spark` deletes the archive
  and starts again without it when the gateway does not come up (`discard`); a zero-length one
  (a full disk) is removed when found, not mapped as a silent "off".
- The cache is off when its folder is on a network filesystem (NFS, SMB, Lustre, GPFS, FUSE...,
  read from /proc/mounts): a file mapped by JVMs on many hosts while another host replaces it
  is what a per-machine cache must never be.

Every JVM we start writes its crash log (`hs_err_pid<pid>.log`) to the temporary folder
(`-XX:ErrorFile`), never into the user's working directory; the warning says where.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dataflow.fsync import fsync_path

DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
QUIET = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"  # an unusable archive is skipped silently
STALE_PARTIAL_SECONDS = 3600
EXIT_WAIT_SECONDS = 300
CHECK_SECONDS = 120
RETRY_AFTER_SECONDS = 24 * 3600
"""After a failed dump, runs start without dumping for this long, then one tries again."""
MOUNTS = Path("/proc/mounts")
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "lustre", "gpfs", "ceph", "glusterfs",
                       "afs", "9p", "beegfs", "orangefs", "pvfs2", "ocfs2", "gfs2"}
"""Filesystem types shared between hosts (`fuse.*` types too: sshfs, s3fs, gcsfuse...)."""

log = logging.getLogger(__name__)


def crash_log_option() -> str:
    """`-XX:ErrorFile` in the temporary folder: a JVM crash (a damaged archive aborts one) must not
    write `hs_err_pid<pid>.log`, with the machine's environment in it, into the user's folder."""
    return f"-XX:ErrorFile={Path(tempfile.gettempdir()) / 'hs_err_pid%p.log'}"


@dataclass(frozen=True)
class JvmArchive:
    """The archive one JVM start uses (`path` exists) or writes (`partial` is set)."""

    path: Path
    partial: Path | None

    @property
    def java_options(self) -> str:
        if self.partial is None:
            return f"-XX:SharedArchiveFile={self.path} {QUIET}"
        return f"-XX:ArchiveClassesAtExit={self.partial} {QUIET}"

    @property
    def failed_marker(self) -> Path:
        return self.path.with_suffix(".failed")

    def discard(self) -> None:
        """Forget the archive (the JVM would not start with it); the next run writes a new one."""
        self.path.unlink(missing_ok=True)

    def finish(self) -> None:
        """At interpreter exit: stop Spark, let the JVM exit and write its dump, publish a good one."""
        if self.partial is None:
            return
        from pyspark import SparkContext

        why = "the JVM did not exit cleanly"
        try:
            check = self._check_command(SparkContext._jvm)
            if SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.stop()
            process = getattr(SparkContext._gateway, "proc", None)
            if process is None:
                return
            process.stdin.close()  # pyspark's gateway exits on EOF: System.exit, then the dump
            clean = process.wait(timeout=EXIT_WAIT_SECONDS) == 0
        except (OSError, subprocess.TimeoutExpired):
            clean = False
        if clean:
            why = self.publish(check)
            if why is None:
                return
        self.partial.unlink(missing_ok=True)
        self.failed_marker.write_text(f"{time.time():.0f} {why}\n")

    def publish(self, check: list[str] | None) -> str | None:
        """Rename the dump into place once a JVM started with it (`check`) starts; else the reason it is not."""
        if not self.partial.is_file() or self.partial.stat().st_size == 0:
            return "the JVM wrote no archive"
        if check is None:
            return "the JVM's options could not be read to check the archive"
        try:
            if subprocess.run(check, capture_output=True, timeout=CHECK_SECONDS).returncode != 0:
                return f"a JVM does not start with it ({' '.join(check[-3:])})"
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"checking it failed: {err}"
        fsync_path(self.partial)
        os.replace(self.partial, self.path)
        fsync_path(self.path.parent)
        return None

    def _check_command(self, jvm) -> list[str] | None:
        """`java <this JVM's options, mapping the dump, -Xshare:on> -cp <its classpath> -version`: it exits
        non-zero when the archive cannot be mapped (CDS checks the JVM, options and classpath it was made with)."""
        from py4j.protocol import Py4JError

        if jvm is None:
            return None
        try:
            system, runtime = jvm.java.lang.System, jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
            options = [str(arg) for arg in runtime.getInputArguments()]
            java = Path(str(system.getProperty("java.home"))) / "bin" / "java"
            classpath = str(system.getProperty("java.class.path"))
        except Py4JError:
            return None
        options = [f"-XX:SharedArchiveFile={self.partial}" if arg.startswith("-XX:ArchiveClassesAtExit=") else arg
                   for arg in options]
        return [str(java), *options, "-Xshare:on", "-cp", classpath, "-version"]


def driver_java_options(archive: JvmArchive | None) -> str | None:
    """The driver options of a JVM we start: the crash-log folder and the archive's; None where the
    user sets the driver's Java options (theirs win, ours would replace them)."""
    if _user_sets_driver_java_options():
        return None
    return " ".join([crash_log_option(), *([archive.java_options] if archive is not None else [])])


def plan_archive(mounts: Path = MOUNTS) -> JvmArchive | None:
    """The archive for the JVM about to start here, or None where it must not be used."""
    if os.environ.get("DATAFLOW_JVM_ARCHIVE", "1") == "0" or _user_sets_driver_java_options():
        return None
    java = _java_binary()
    if java is None:
        return None
    folder = Path(os.environ.get("DATAFLOW_CACHE_DIR") or Path.home() / ".cache" / "dataflow") / "jvm"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    if network_filesystem(folder, mounts):
        return None
    key = _key(java)
    _remove_stale_partials(folder, key)
    path = folder / f"{key}.jsa"
    if path.is_file() and path.stat().st_size == 0:
        log.warning("removed the empty class archive %s (a full disk?); this run writes a new one", path)
        path.unlink(missing_ok=True)
    if path.is_file():
        return JvmArchive(path, None)
    failed = path.with_suffix(".failed")
    if failed.is_file():
        if time.time() - failed.stat().st_mtime < RETRY_AFTER_SECONDS:
            return None
        failed.unlink(missing_ok=True)
    host = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "host"
    return JvmArchive(path, folder / f"{key}.{host}.{os.getpid()}.partial")


def network_filesystem(folder: Path, mounts: Path = MOUNTS) -> str | None:
    """The type of the network filesystem `folder` is on (the longest mount point above it in `mounts`,
    /proc/mounts' format), or None: local, or not knowable (no /proc)."""
    try:
        table = mounts.read_text(errors="replace").splitlines()
    except OSError:
        return None
    resolved, best = str(folder.resolve()), ("", "")
    for line in table:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best[0]):
            best = (point, fields[2])
    kind = best[1]
    return kind if kind in NETWORK_FILESYSTEMS or kind.startswith("fuse.") else None  # not fuseblk: a local disk


def _user_sets_driver_java_options() -> bool:
    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    if DRIVER_JAVA_OPTIONS in submit_args or "--driver-java-options" in submit_args:
        return True
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    defaults = Path(conf_dir) / "spark-defaults.conf" if conf_dir else None
    return bool(defaults and defaults.is_file() and DRIVER_JAVA_OPTIONS in defaults.read_text(errors="replace"))


def _java_binary() -> Path | None:
    """The java that spark-submit will run: $JAVA_HOME/bin/java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    java = Path(home) / "bin" / "java" if home else (Path(found) if (found := shutil.which("java")) else None)
    return java.resolve() if java is not None and java.is_file() else None


def _key(java: Path) -> str:
    """What a dump is only valid with: the JVM, the classpath (pyspark's jars) and the driver settings."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    java_stat = java.stat()
    parts = [str(java), str(java_stat.st_size), str(java_stat.st_mtime_ns), pyspark.__version__, str(jars),
             *sorted(entry.name for entry in jars.glob("*.jar")), os.environ.get("PYSPARK_SUBMIT_ARGS", "")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def _remove_stale_partials(folder: Path, key: str) -> None:
    """Partials of runs killed before they finished: older than an hour, their writer is gone."""
    cutoff = time.time() - STALE_PARTIAL_SECONDS
    for partial in folder.glob(f"{key}.*.partial"):
        try:
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
        except OSError:
            pass  # another run removed it first
