"""Dedup across crawls: a second crawl deduplicated `--against` the first one's output rejects the
pages it shares with the first (exact copies and near duplicates), naming the earlier page's id,
from the first run's stored signatures; recall and precision against brute-force Jaccard."""

from __future__ import annotations

import random

import pyarrow.parquet as pq
import pytest

import cli
from dataflow.dedup.against import EARLIER_REASON, SIGNATURES_DIR
from dataflow.dedup.minhash import shingles
from dataflow.text import normalize
from tests.jobs.test_dedup_job import THRESHOLD, write_docs
from tests.stage_outputs import stats_of
from bench.common.text_edits import near_duplicate
from tests.sample_documents import sample_documents

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)


@pytest.fixture(scope="module")
def crawls(spark, tmp_path_factory):
    """Of 900 sample articles, crawl 1: every third; crawl 2: others, 30 exact copies and 30 near
    duplicates (one edit of up to 2%, Jaccard >= 0.83 to the page: a word edit of 3% takes a short
    article below the threshold) of crawl 1's pages, under new ids. Crawl 1 is deduplicated."""
    rng = random.Random(26)
    pages = sample_documents(900, seed=26)
    first = [{"id": page["id"], "text": page["text"]} for page in pages[0::3]]
    spaced = [doc for doc in first if len(doc["text"].split()) > 100]
    second = [{"id": "c2/" + page["id"], "text": page["text"]} for page in pages[1::6]]
    second += [{"id": f"c2/copy/{doc['id']}", "text": doc["text"]} for doc in rng.sample(spaced, 30)]
    second += [{"id": f"c2/near/{doc['id']}", "text": near_duplicate(doc["text"], rng, 0.02, 1)[0]}
               for doc in rng.sample(spaced, 30)]
    root = tmp_path_factory.mktemp("crawls")
    write_docs(first, root / "crawl1", 2)
    write_docs(second, root / "crawl2", 2)
    assert cli.main(["run", "dedup", "--input", str(root / "crawl1"), "--output", str(root / "dedup1")]) == 0
    return root, second


def true_earlier_duplicates(kept: list[dict], new: list[dict]) -> set[str]:
    """Brute force: new documents with the same normalised text as, or Jaccard >= THRESHOLD with, a kept one."""
    keys = {normalize(doc["text"]) for doc in kept}
    sets = [frozenset(shingles(doc["text"], 5)) for doc in kept]
    found = set()
    for doc in new:
        mine = frozenset(shingles(doc["text"], 5))
        if normalize(doc["text"]) in keys or any(mine and len(mine & other) >= THRESHOLD * len(mine | other)
                                                 for other in sets if other):
            found.add(doc["id"])
    return found


def test_second_crawl_against_the_first_rejects_the_shared_pages(crawls):
    root, second = crawls
    assert (root / "dedup1" / SIGNATURES_DIR).is_dir()
    assert cli.main(["run", "dedup", "--input", str(root / "crawl2"), "--output", str(root / "dedup2"),
                     "--against", str(root / "dedup1")]) == 0
    rejected = pq.read_table(root / "dedup2" / "rejected").to_pylist()
    earlier = {row["id"]: row["reject_value"] for row in rejected if row["reject_reason"] == EARLIER_REASON}
    kept1 = pq.read_table(root / "dedup1" / "data", columns=["id", "text"]).to_pylist()
    truth = true_earlier_duplicates(kept1, second)
    planted = {doc["id"] for doc in second if doc["id"].startswith(("c2/copy/", "c2/near/"))}
    recall, precision = len(truth & set(earlier)) / len(truth), len(truth & set(earlier)) / len(earlier)
    assert recall >= 0.95 and precision >= 0.95, (recall, precision)
    assert len(planted & set(earlier)) >= 0.95 * len(planted)
    kept_ids = {row["id"] for row in kept1}
    assert set(earlier.values()) <= kept_ids  # the value names a document the first run kept
    for new_id, old_id in earlier.items():
        if new_id.startswith("c2/copy/"):
            assert old_id == new_id.removeprefix("c2/copy/") or old_id in kept_ids
    stats = stats_of(root / "dedup2")
    assert stats["rejected_by_reason"][EARLIER_REASON] == len(earlier) == stats["extra"]["earlier_duplicates"]
    assert stats["rows_in"] == len(second) == stats["rows_out"] + stats["rows_rejected"]


def test_against_a_run_with_other_signature_settings_is_refused(crawls, capsys):
    root, _ = crawls
    code = cli.main(["run", "dedup", "--input", str(root / "crawl2"), "--output", str(root / "other"),
                     "--against", str(root / "dedup1"), "--num-perm", "64"])
    assert code == 2
    assert "--against" in capsys.readouterr().err and not (root / "other").exists()
