"""A killed extract stage resumes where it stopped: the driver is SIGKILLed once at least a third
of the WARC files are committed (dataflow/partial.py), and the rerun extracts only the files
left, ending with the same documents, rejected rows and counts as a clean run. A changed config
deletes the pieces committed under the old one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from dataflow.partial import COMMITTED_DIR, partial_dir
from dataflow.samples.generate import write_sample_warcs
from jobs import extract
from tests.conftest import REPO_ROOT
from tests.jobs.test_fault_recovery import kept_rows, kill_tree, stats_of

pytestmark = pytest.mark.fault  # kills the driver mid-stage and resumes

NUM_FILES = 12
COUNTED = ("rows_in", "rows_out", "rows_rejected", "rejected_by_reason", "bytes_out", "bytes_rejected")


@pytest.fixture(scope="module")
def warcs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume") / "warc"
    write_sample_warcs(folder, num_pages=360, num_files=NUM_FILES, seed=11)
    return folder


def committed(output) -> int:
    return sum(len(list(folder.glob(f"{COMMITTED_DIR}/*.json")))
               for folder in output.parent.glob(f"{output.name}.partial-*"))


def rejected_ids(folder) -> list[str]:
    return sorted(pq.read_table(folder / "rejected", columns=["id"]).column("id").to_pylist())


@pytest.mark.timeout(900)
def test_driver_killed_after_a_third_of_the_files_resumes_with_the_rest(spark, warcs, tmp_path):
    killed = tmp_path / "killed"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(REPO_ROOT)}
    driver = subprocess.Popen([sys.executable, "-m", "dataflow", "run", "extract", "--input", str(warcs),
                               "--output", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while driver.poll() is None and committed(killed) < NUM_FILES // 3:
        time.sleep(0.05)
    kill_tree(driver)
    before = committed(killed)
    assert NUM_FILES // 3 <= before < NUM_FILES and not (killed / "_SUCCESS").exists()

    assert extract.main(["--input", str(warcs), "--output", str(killed)]) == 0
    resume = stats_of(killed)["extra"]["resume"]
    assert resume == {"files": NUM_FILES, "files_committed_before": before, "files_extracted": NUM_FILES - before}
    assert not list(tmp_path.glob("killed.partial-*"))  # published: the pieces are gone

    assert extract.main(["--input", str(warcs), "--output", str(tmp_path / "clean")]) == 0
    assert kept_rows(killed) == kept_rows(tmp_path / "clean")
    assert rejected_ids(killed) == rejected_ids(tmp_path / "clean")
    resumed, clean = stats_of(killed), stats_of(tmp_path / "clean")
    assert {key: resumed[key] for key in COUNTED} == {key: clean[key] for key in COUNTED}
    assert resumed["rows_in"] == resumed["rows_out"] + sum(resumed["rejected_by_reason"].values())


def write_stale_partial(output) -> str:
    """A partial folder beside `output` under another fingerprint, holding one committed piece."""
    stale = partial_dir(str(output), "0" * 64)
    os.makedirs(f"{stale}/{COMMITTED_DIR}")
    with open(f"{stale}/{COMMITTED_DIR}/x.json", "w") as marker:
        json.dump({"rows": 1}, marker)
    return stale


def test_pieces_of_another_config_are_deleted_not_reused(spark, warcs, tmp_path):
    output = tmp_path / "docs"
    stale = write_stale_partial(output)
    two = [str(path) for path in sorted(warcs.glob("*.warc.gz"))[:2]]
    assert extract.main([flag for path in two for flag in ("--input", path)] + ["--output", str(output)]) == 0
    assert stats_of(output)["extra"]["resume"] == {"files": 2, "files_committed_before": 0, "files_extracted": 2}
    assert not os.path.exists(stale)
