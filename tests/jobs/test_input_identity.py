"""A plain Parquet input is identified by its files (names, sizes, modification times), not its path:
an input regenerated in place makes the stage run again instead of being skipped as current."""

from __future__ import annotations

import json

from jobs import filter as filter_job
from jobs.common.stage_io import stage_input_identity
from bench.common.real_pages import write_documents

PAGE = "Page {n} has a few plain sentences about gardens and the weather in spring. "


def pages(count: int) -> list[dict]:
    return [{"id": f"doc-{n}", "text": PAGE.format(n=n) * 20, "language": "en", "url": f"https://example.org/{n}"}
            for n in range(count)]


def test_a_regenerated_parquet_input_is_not_taken_for_the_old_one(spark, tmp_path, caplog):
    docs, out = tmp_path / "docs", tmp_path / "filtered"
    write_documents(docs, pages(4))
    assert filter_job.main(["--input", str(docs), "--output", str(out)]) == 0
    assert json.loads((out / "stats.json").read_text())["rows_in"] == 4

    write_documents(docs, pages(7))  # the same path, regenerated with more rows
    assert filter_job.main(["--input", str(docs), "--output", str(out)]) == 0
    assert "complete and current" not in caplog.text
    assert json.loads((out / "stats.json").read_text())["rows_in"] == 7

    assert filter_job.main(["--input", str(docs), "--output", str(out)]) == 0  # unchanged: skipped
    assert "complete and current" in caplog.text


def test_the_identity_lists_the_folder_without_reading_its_files(spark, tmp_path):
    docs = write_documents(tmp_path / "docs", pages(3), parts=2)
    identity = stage_input_identity(spark, str(docs))
    assert identity["files"] == 2 and identity["bytes"] == sum(p.stat().st_size for p in docs.iterdir())
    assert stage_input_identity(spark, str(docs)) == identity
    (docs / "part-00001.parquet").unlink()
    assert stage_input_identity(spark, str(docs))["files"] == 1
