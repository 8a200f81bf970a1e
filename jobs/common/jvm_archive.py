"""A class-data-sharing archive for the JVM that a plain `python`/`dataflow run` starts itself.

A small job spends much of its wall time starting Spark's JVM: loading and verifying the same
tens of thousands of classes every run (session start 18-19 s on two shared cores, about a
third of the 58 MB extract bench). Java 17 can write the classes a run loaded into an archive
when the JVM exits (`-XX:ArchiveClassesAtExit`) and map it at the next start
(`-XX:SharedArchiveFile`); measured on the same machine, session start fell to 7-11 s.

The archive is a cache, kept per machine under `$DATAFLOW_CACHE_DIR` (default
`~/.cache/dataflow`)/jvm, named by a hash of what it depends on (the java binary, pyspark's jars,
PYSPARK_SUBMIT_ARGS), so a different JDK, Spark or driver setting gets its own file:

- No archive yet: this run's JVM dumps into `<key>.<pid>.partial`. At exit (after Spark stops)
  the JVM's stdin is closed, which is how pyspark's gateway is told to exit, the JVM is waited
  for, and only a dump from a JVM that exited cleanly is renamed into place, so a reader never
  maps a half-written file. A run killed before that leaves a partial, removed later.
- A damaged archive is fatal to the JVM rather than ignored, so `get_spark` deletes the archive
  and starts again without it when the gateway does not come up (`discard`).

It is only used where we start the JVM (never under spark-submit), and not when the user sets
the driver's Java options (PYSPARK_SUBMIT_ARGS, SPARK_CONF_DIR's spark-defaults.conf): theirs
win and ours would replace them. `DATAFLOW_JVM_ARCHIVE=0` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
QUIET = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"  # an unusable archive is skipped silently
STALE_PARTIAL_SECONDS = 3600
EXIT_WAIT_SECONDS = 300


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

    def discard(self) -> None:
        """Forget the archive (the JVM would not start with it); the next run writes a new one."""
        self.path.unlink(missing_ok=True)

    def finish(self) -> None:
        """At interpreter exit: stop Spark, let the JVM exit and write its dump, keep a clean one."""
        if self.partial is None:
            return
        from pyspark import SparkContext

        try:
            if SparkContext._active_spark_context is not None:
                SparkContext._active_spark_context.stop()
            process = getattr(SparkContext._gateway, "proc", None)
            if process is None:
                return
            process.stdin.close()  # pyspark's gateway exits on EOF: System.exit, then the dump
            clean = process.wait(timeout=EXIT_WAIT_SECONDS) == 0
        except (OSError, subprocess.TimeoutExpired):
            clean = False
        if clean and self.partial.is_file() and self.partial.stat().st_size > 0:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def plan_archive() -> JvmArchive | None:
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
    key = _key(java)
    _remove_stale_partials(folder, key)
    path = folder / f"{key}.jsa"
    if path.is_file():
        return JvmArchive(path, None)
    return JvmArchive(path, folder / f"{key}.{os.getpid()}.partial")


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
