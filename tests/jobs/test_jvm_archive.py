"""The class-data-sharing archive for JVMs we start (jobs/common/jvm_archive.py): written once
from a clean exit, mapped by later starts, and a damaged one removed instead of failing the job."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.common.jvm_archive import STALE_PARTIAL_SECONDS, plan_archive

REPO = Path(__file__).resolve().parents[2]
TINY_JOB = """
from jobs.common.spark import get_spark
spark = get_spark("archive-test")
assert spark.range(3).count() == 3
print("options:", spark.sparkContext.getConf().get("spark.driver.extraJavaOptions", ""))
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAFLOW_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DATAFLOW_JVM_ARCHIVE", raising=False)
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    monkeypatch.delenv("SPARK_CONF_DIR", raising=False)
    return tmp_path / "cache" / "jvm"


def test_the_first_start_writes_a_partial_named_by_its_process_and_a_later_one_maps_the_archive(cache):
    first = plan_archive()
    assert first.partial == cache / f"{first.path.stem}.{os.getpid()}.partial"
    assert f"-XX:ArchiveClassesAtExit={first.partial}" in first.java_options
    first.path.write_bytes(b"an archive")
    later = plan_archive()
    assert later.partial is None and later.java_options.startswith(f"-XX:SharedArchiveFile={first.path} ")


def test_settings_that_change_the_classpath_or_driver_get_their_own_archive(cache, monkeypatch):
    default = plan_archive().path
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--master local[2] --driver-memory 4g pyspark-shell")
    assert plan_archive().path != default


@pytest.mark.parametrize("setting", [("DATAFLOW_JVM_ARCHIVE", "0"),
                                     ("PYSPARK_SUBMIT_ARGS", "--driver-java-options -Xss4m pyspark-shell"),
                                     ("PYSPARK_SUBMIT_ARGS",
                                      "--conf spark.driver.extraJavaOptions=-Xss4m pyspark-shell")])
def test_no_archive_when_turned_off_or_the_user_sets_the_drivers_java_options(cache, monkeypatch, setting):
    monkeypatch.setenv(*setting)
    assert plan_archive() is None


def test_the_users_spark_defaults_with_driver_java_options_win(cache, monkeypatch, tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "spark-defaults.conf").write_text("spark.driver.extraJavaOptions -Xss4m\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "conf"))
    assert plan_archive() is None


def test_partials_of_killed_runs_are_removed_once_stale(cache):
    key = plan_archive().path.stem
    stale, recent = cache / f"{key}.1.partial", cache / f"{key}.2.partial"
    for partial in (stale, recent):
        partial.write_bytes(b"half a dump")
    old = time.time() - STALE_PARTIAL_SECONDS - 60
    os.utime(stale, (old, old))
    plan_archive()
    assert not stale.exists() and recent.exists()


def _run_tiny_job(cache: Path) -> str:
    env = {**os.environ, "DATAFLOW_CACHE_DIR": str(cache.parent), "PYTHONPATH": str(REPO),
           "PYSPARK_PYTHON": sys.executable}
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    done = subprocess.run([sys.executable, "-c", TINY_JOB], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_a_real_jvm_writes_the_archive_at_exit_maps_it_next_time_and_survives_a_damaged_one(cache):
    first = _run_tiny_job(cache)
    assert "ArchiveClassesAtExit" in first
    archives = list(cache.glob("*.jsa"))
    assert len(archives) == 1 and archives[0].stat().st_size > 1_000_000
    assert not list(cache.glob("*.partial"))  # renamed into place after the JVM exited cleanly

    assert f"-XX:SharedArchiveFile={archives[0]}" in _run_tiny_job(cache)

    archives[0].chmod(0o644)  # the JVM writes it read-only
    with open(archives[0], "r+b") as archive:  # a damaged archive stops the JVM from starting at all
        archive.truncate(archives[0].stat().st_size // 3)
    damaged = _run_tiny_job(cache)
    assert "did not start with the class archive" in damaged
    assert not archives[0].exists()  # removed: the next run writes a new one
