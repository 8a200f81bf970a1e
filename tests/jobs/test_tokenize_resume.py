"""A killed tokenize resumes where it stopped: the driver is SIGKILLed once at least a third of the
shard tasks are committed (dataflow/tokenize/committed_shards.py), and the rerun runs only the tasks
left, ending with the same shards, manifests, documents table and counts as a clean run. Pieces
committed under another config are deleted, not reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from dataflow.partial import COMMITTED_DIR
from jobs import tokenize_docs
from tests.byte_level_bpe import byte_level_bpe
from tests.conftest import REPO_ROOT
from tests.jobs.test_fault_recovery import kill_tree, shard_bytes
from tests.jobs.test_stage_resume import write_stale_partial
from bench.common.real_pages import write_documents
from tests.sample_documents import sample_documents
from tests.stage_outputs import stats_of

NUM_SHARDS, VALIDATION_FRAC = 12, 0.2
NUM_TASKS = NUM_SHARDS + 3  # ceil(12 * 0.2) validation shards
COUNTED = ("rows_in", "skipped_empty_text", "documents", "tokens", "bytes", "splits", "tokenizer", "encoder")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """1,600 sample articles and one empty document in four files; a BPE trained on 200 of them."""
    root = tmp_path_factory.mktemp("tokenize_resume")
    pages = sample_documents(1600, seed=32)
    write_documents(root / "docs", pages + [{"id": "no-text", "url": None, "language": None, "text": ""}], parts=4)
    byte_level_bpe([page["text"] for page in pages[:200]], 500).save(str(root / "tokenizer.json"))
    return root


def arguments(inputs, output) -> list[str]:
    return ["--input", str(inputs / "docs"), "--tokenizer", str(inputs / "tokenizer.json"), "--source", "web",
            "--num-shards", str(NUM_SHARDS), "--validation-frac", str(VALIDATION_FRAC), "--output", str(output)]


def committed(output) -> int:
    return sum(len(list(folder.glob(f"{COMMITTED_DIR}/*.json")))
               for folder in output.parent.glob(f"{output.name}.partial-*"))


def documents_table(output) -> list[dict]:
    return sorted(pq.read_table(output / "documents").to_pylist(), key=lambda row: (row["split"], row["id"]))


def manifests(output) -> dict:
    """Both splits' manifests, without the input path (the runs read the same input, named alike)."""
    return {split: json.loads((output / split / "manifest.json").read_text()) for split in ("train", "validation")}


@pytest.mark.fault
@pytest.mark.timeout(900)
def test_driver_killed_after_a_third_of_the_tasks_resumes_with_the_rest(spark, inputs, tmp_path):
    killed = tmp_path / "killed"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(REPO_ROOT)}
    driver = subprocess.Popen([sys.executable, "-m", "dataflow", "run", "tokenize", *arguments(inputs, killed)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while driver.poll() is None and committed(killed) < NUM_TASKS // 3:
        time.sleep(0.02)
    kill_tree(driver)
    before = committed(killed)
    assert NUM_TASKS // 3 <= before < NUM_TASKS and not (killed / "_SUCCESS").exists()

    assert tokenize_docs.main(arguments(inputs, killed)) == 0
    resumed = stats_of(killed)
    assert resumed["resume"] == {"tasks": NUM_TASKS, "tasks_committed_before": before, "tasks_run": NUM_TASKS - before}
    assert not list(tmp_path.glob("killed.partial-*"))  # published: the pieces are gone

    clean = tmp_path / "clean"
    assert tokenize_docs.main(arguments(inputs, clean)) == 0
    assert stats_of(clean)["resume"] == {"tasks": NUM_TASKS, "tasks_committed_before": 0, "tasks_run": NUM_TASKS}
    assert shard_bytes(killed) == shard_bytes(clean) and len(shard_bytes(clean)) == 2 * NUM_TASKS
    assert manifests(killed) == manifests(clean)
    assert documents_table(killed) == documents_table(clean)
    assert {key: resumed[key] for key in COUNTED} == {key: stats_of(clean)[key] for key in COUNTED}
    assert resumed["rows_in"] == resumed["documents"] + resumed["skipped_empty_text"]


def test_pieces_of_another_config_are_deleted_not_reused(spark, inputs, tmp_path):
    output = tmp_path / "tokens"
    stale = write_stale_partial(output)
    assert tokenize_docs.main(arguments(inputs, output)) == 0
    assert stats_of(output)["resume"]["tasks_committed_before"] == 0
    assert not os.path.exists(stale)
