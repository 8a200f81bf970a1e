"""Documents in (jobs/common/documents_in.py): each format users hold, read in real Spark local mode, gives
the source's rows with their texts, ids (the source's or a hash of the text) and other columns as metadata;
the filter stage and `run pipeline --from filter` start from them."""

from __future__ import annotations

import gzip
import hashlib
import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataflow.errors import ConfigError, InputError
from jobs import classify, decontaminate, dedup, extract, pipeline, tokenize_docs
from jobs import filter as filter_job
from jobs.common.documents_in import ColumnMapping, read_documents
from tests.document_files import write_jsonl, write_zst
from tests.stage_outputs import stats_of
from bench.common.warc_builder import write_wet

WORDS = "the river runs past old mills where farmers once brought grain from the hills each autumn".split()
SOURCE = [{"key": f"doc-{i}", "body": " ".join(WORDS[i % 7:] + WORDS[:i % 7]) + f" Entry number {i}.",
           "url": f"http://news.example/{i}", "score": i / 4, "tags": ["a", str(i)]} for i in range(12)]


def write_hf_parquet(folder, rows):
    """The Hub's layout: Parquet shards under data/ (nested, as FineWeb's data/<crawl>/), a README beside."""
    (folder / "data" / "CC-MAIN-2024-10").mkdir(parents=True)
    datasets.Dataset.from_list(rows[:5]).to_parquet(str(folder / "data" / "train-00000-of-00002.parquet"))
    datasets.Dataset.from_list(rows[5:]).to_parquet(str(folder / "data" / "CC-MAIN-2024-10" / "000_00000.parquet"))
    (folder / "README.md").write_text("---\nlicense: odc-by\n---\n", encoding="utf-8")
    return folder


def write_saved(folder, rows):
    datasets.Dataset.from_list(rows).save_to_disk(str(folder), num_shards=2)
    return folder


WRITERS = {
    "jsonl": lambda tmp, rows: write_jsonl(tmp / "docs.jsonl", rows),
    "jsonl.gz": lambda tmp, rows: write_jsonl(tmp / "docs.jsonl.gz", rows, gzip.open),
    "jsonl.zst": lambda tmp, rows: write_zst(tmp / "docs.jsonl.zst", rows),
    "jsonl folder": lambda tmp, rows: (write_jsonl(tmp / "a.jsonl", rows[:4]), write_zst(tmp / "b.jsonl.zst", rows[4:]),
                                       tmp)[-1],
    "parquet": lambda tmp, rows: (pq.write_table(pa.Table.from_pylist(rows), tmp / "docs.parquet"),
                                  tmp / "docs.parquet")[-1],
    "hf parquet": lambda tmp, rows: write_hf_parquet(tmp / "hf", rows),
    "hf save_to_disk": lambda tmp, rows: write_saved(tmp / "saved", rows),
}


def text_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_each_format_gives_the_source_rows_ids_and_metadata(spark, tmp_path, kind):
    path = WRITERS[kind](tmp_path, SOURCE)
    rows = read_documents(spark, str(path), ColumnMapping(text="body")).collect()  # 12 rows
    assert sorted((row["id"], row["text"], row["url"]) for row in rows) == \
        sorted((text_id(doc["body"]), doc["body"], doc["url"]) for doc in SOURCE)
    by_text = {doc["body"]: doc for doc in SOURCE}
    for row in rows:
        doc = by_text[row["text"]]
        assert json.loads(row["metadata"]) == {"key": doc["key"], "score": doc["score"], "tags": doc["tags"]}
        assert row["language"] is None and row["source"] is None


def test_id_column_gives_the_ids(spark, tmp_path):
    path = write_zst(tmp_path / "docs.jsonl.zst", SOURCE)
    rows = read_documents(spark, str(path), ColumnMapping(text="body", id="key")).collect()
    assert sorted((row["id"], row["text"]) for row in rows) == sorted((doc["key"], doc["body"]) for doc in SOURCE)
    assert "key" not in json.loads(rows[0]["metadata"])


def test_a_missing_text_column_names_the_columns(spark, tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", SOURCE)
    with pytest.raises(InputError, match=r"no column 'text'.*--text-column.*'body'"):
        read_documents(spark, str(path))
    with pytest.raises(InputError, match="no column 'uid' for --id-column"):
        read_documents(spark, str(path), ColumnMapping(text="body", id="uid"))


@pytest.mark.parametrize("job", [filter_job, dedup, classify, decontaminate, tokenize_docs])
def test_every_document_stage_takes_the_column_flags(job):
    args = job.parse_args(["--input", "docs.jsonl", "--output", "out", "--text-column", "body", "--id-column", "key"])
    assert (args.text_column, args.id_column) == ("body", "key")


def test_filter_reads_jsonl_and_loses_no_row(spark, tmp_path):
    path = write_zst(tmp_path / "docs.jsonl.zst", SOURCE)
    out = tmp_path / "filtered"
    assert filter_job.main(["--input", str(path), "--output", str(out), "--text-column", "body"]) == 0
    stats = stats_of(out)
    assert stats["rows_in"] == len(SOURCE) == stats["rows_out"] + stats["rows_rejected"]
    (identity,) = stats["inputs"]  # the file listing (a regenerated input is another input) and the mapping
    assert identity["path"] == {"path": str(path), "text_column": "body", "id_column": None}
    assert (identity["files"], identity["bytes"]) == (1, path.stat().st_size)
    ids = {row["id"] for row in spark.read.parquet(str(out / "data"), str(out / "rejected")).collect()}
    assert ids == {text_id(doc["body"]) for doc in SOURCE}


def test_pipeline_from_filter_starts_at_a_hugging_face_folder(spark, tmp_path):
    folder = write_hf_parquet(tmp_path / "hf", SOURCE)
    run = tmp_path / "run"
    assert pipeline.main(["--documents", str(folder), "--text-column", "body", "--id-column", "key", "--from", "filter",
                          "--until", "dedup", "--output", str(run), "--quiet"]) == 0
    assert stats_of(run / "filtered")["rows_in"] == len(SOURCE)
    assert stats_of(run / "deduped")["rows_in"] == stats_of(run / "filtered")["rows_out"]
    with pytest.raises(ConfigError, match="--documents .* --from filter"):
        pipeline.main(["--documents", str(folder), "--output", str(run)])


def test_extract_takes_a_wet_file_as_extracted_text(spark, tmp_path):
    texts = {f"http://wet.example/{i}": f"{doc['body']}\nA second line of the page, number {i}."
             for i, doc in enumerate(SOURCE[:5])}
    wet = write_wet(tmp_path / "CC-MAIN-2024-10-00000.warc.wet.gz", texts)
    out = tmp_path / "docs"
    assert extract.main(["--input", str(tmp_path), "--output", str(out)]) == 0
    stats = stats_of(out)
    assert (stats["rows_in"], stats["rows_out"], stats["rejected_by_reason"]) == (6, 5, {"record_warcinfo": 1})
    rows = spark.read.parquet(str(out / "data")).collect()  # 5 rows
    assert {row["url"]: row["text"] for row in rows} == texts
    assert {row["crawl"] for row in rows} == {"CC-MAIN-2024-10"} and {row["warc_path"] for row in rows} == {str(wet)}
