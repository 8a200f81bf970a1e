"""The class-data-sharing archive for JVMs we start (jobs/common/jvm_archive.py): written once
from a clean exit and published only when a JVM starts with it, mapped by later starts, a damaged
or empty one removed instead of failing the job, no retry for a day after a failed dump, off on
network filesystems; crash logs go to the temporary folder, never the working directory."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from jobs.common.jvm_archive import (RETRY_AFTER_SECONDS, STALE_PARTIAL_SECONDS, JvmArchive, network_filesystem,
                                     plan_archive)

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


def test_the_first_start_writes_a_partial_named_by_its_host_and_process_and_a_later_one_maps_the_archive(cache):
    first = plan_archive()
    host = socket.gethostname().split(".")[0]
    assert first.partial == cache / f"{first.path.stem}.{host}.{os.getpid()}.partial"
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
    stale, recent = cache / f"{key}.host.1.partial", cache / f"{key}.host.2.partial"
    for partial in (stale, recent):
        partial.write_bytes(b"half a dump")
    old = time.time() - STALE_PARTIAL_SECONDS - 60
    os.utime(stale, (old, old))
    plan_archive()
    assert not stale.exists() and recent.exists()


def test_an_empty_archive_is_removed_and_written_again(cache):
    path = plan_archive().path
    path.write_bytes(b"")
    archive = plan_archive()
    assert not path.exists() and archive.partial is not None


def test_after_a_failed_dump_no_run_dumps_for_a_day_then_one_tries_again(cache):
    marker = plan_archive().failed_marker
    marker.write_text("1 the JVM wrote no archive\n")
    assert plan_archive() is None
    day_ago = time.time() - RETRY_AFTER_SECONDS - 60
    os.utime(marker, (day_ago, day_ago))
    assert plan_archive().partial is not None and not marker.exists()


@pytest.mark.parametrize(("kind", "network"), [("nfs4", True), ("fuse.sshfs", True), ("lustre", True),
                                               ("ext4", False), ("fuseblk", False)])
def test_the_archive_is_off_on_a_network_filesystem(cache, tmp_path, kind, network):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/export {tmp_path} {kind} rw 0 0\n"
                      "tmpfs /dev/shm tmpfs rw 0 0\n")
    assert (network_filesystem(cache, mounts) == kind) is network
    assert (plan_archive(mounts) is None) is network


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    return java


def test_a_dump_is_published_only_when_a_jvm_starts_with_it(tmp_path):
    java = _java()
    good = JvmArchive(tmp_path / "good.jsa", tmp_path / "good.host.1.partial")
    subprocess.run([java, f"-XX:ArchiveClassesAtExit={good.partial}", "-version"], capture_output=True, check=True)
    assert good.publish([java, f"-XX:SharedArchiveFile={good.partial}", "-Xshare:on", "-version"]) is None
    assert good.path.stat().st_size > 0 and not good.partial.exists()

    torn = JvmArchive(tmp_path / "torn.jsa", tmp_path / "torn.host.1.partial")
    torn.partial.write_bytes(good.path.read_bytes()[:4096])  # a dump cut short
    error_file = f"-XX:ErrorFile={tmp_path / 'hs_err_pid%p.log'}"
    reason = torn.publish([java, f"-XX:SharedArchiveFile={torn.partial}", "-Xshare:on", error_file, "-version"])
    assert reason.startswith("a JVM does not start with it") and not torn.path.exists()
    assert torn.publish(None).startswith("the JVM's options could not be read")


def _run_tiny_job(cache: Path) -> str:
    env = {**os.environ, "DATAFLOW_CACHE_DIR": str(cache.parent), "PYTHONPATH": str(REPO),
           "PYSPARK_PYTHON": sys.executable}
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    done = subprocess.run([sys.executable, "-c", TINY_JOB], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.slow
def test_a_real_jvm_writes_the_archive_at_exit_maps_it_next_time_and_survives_a_damaged_one(cache):
    crash_logs_here = set(REPO.glob("hs_err_pid*.log"))
    first = _run_tiny_job(cache)
    assert "ArchiveClassesAtExit" in first and f"-XX:ErrorFile={Path(tempfile.gettempdir())}/hs_err_pid%p.log" in first
    assert not list(cache.glob("*.failed"))  # the check JVM started with the dump
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
    assert set(REPO.glob("hs_err_pid*.log")) == crash_logs_here  # the aborted JVM's log went to the temp folder
