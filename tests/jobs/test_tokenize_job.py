"""Tokenizer training and the tokenize job in real Spark local mode, on the sample generator's articles in seven
languages."""

from __future__ import annotations

import json
import random

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

import cli
from dataflow.shards import TokenizerInfo, open_split
from dataflow.tokenize.tokenizer import TokenizerTrainConfig, load_tokenizer
from jobs import tokenize_docs
from jobs import train_tokenizer
from jobs.common.exact_partitions import exactly_partitioned
from bench.common.real_pages import write_documents
from tests.sample_documents import sample_documents
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

NUM_DOCS = 240


@pytest.fixture(scope="module")
def pages():
    return sample_documents(NUM_DOCS)


@pytest.fixture(scope="module")
def built(spark, pages, tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenize")
    write_documents(root / "docs", pages + [{"id": "no-text", "url": None, "language": None, "text": ""}], parts=3)
    assert train_tokenizer.main(["--input", str(root / "docs"), "--output", str(root / "tokenizer.json"),
                                 "--vocab-size", "700", "--max-sample-bytes", "400000"]) == 0
    assert tokenize_docs.main(["--input", str(root / "docs"), "--tokenizer", str(root / "tokenizer.json"),
                               "--source", "web", "--num-shards", "3", "--validation-frac", "0.1",
                               "--output", str(root / "tokens")]) == 0
    return root


def test_tokenizer_sample_is_bounded_seeded_and_ordered_by_hash(spark, built):
    docs = spark.read.parquet(str(built / "docs"))
    config = TokenizerTrainConfig(max_sample_bytes=200_000, seed=3)
    taken: dict = {}
    first = list(train_tokenizer.sample_texts(spark, docs, str(built / "docs"), config, taken))
    assert 0 < taken["bytes"] <= 200_000 and taken["documents"] == len(first)
    assert list(train_tokenizer.sample_texts(spark, docs, str(built / "docs"), config, {})) == first
    other = list(train_tokenizer.sample_texts(spark, docs, str(built / "docs"), config.model_copy(update={"seed": 4}),
                                              {}))
    assert other != first


def test_stats_pin_documents_and_tokens_per_split(built):
    stats = stats_of(built / "tokens")
    assert stats["rows_in"] == NUM_DOCS + 1 and stats["documents"] == NUM_DOCS and stats["skipped_empty_text"] == 1
    assert {split: figures["documents"] for split, figures in stats["splits"].items()} == {"train": 218,
                                                                                            "validation": 22}
    assert stats["tokens"] == 195_760 and stats["splits"]["validation"]["tokens"] == 17_230
    assert stats["splits"]["train"]["shards"] == 3 and stats["splits"]["validation"]["shards"] == 1
    assert stats["tokenizer"]["sha256"] == TokenizerInfo.from_file(built / "tokenizer.json").sha256
    assert stats["encoder"] == "tiktoken (checked token for token against tokenizers)"
    assert stats["bytes"] == sum(len(page["text"].encode()) for page in texts_of(built))


def texts_of(built) -> list[dict]:
    return pq.read_table(built / "docs", columns=["id", "text"]).to_pylist()


def test_every_document_decodes_back_to_its_text_and_ends_with_eos(built):
    tokenizer = load_tokenizer(built / "tokenizer.json")
    texts = {row["id"]: row["text"] for row in texts_of(built) if row["text"]}
    urls = {row["id"]: row["url"] for row in pq.read_table(built / "docs", columns=["id", "url"]).to_pylist()}
    places = pq.read_table(built / "tokens" / "documents").to_pylist()
    datasets = {split: open_split(built / "tokens", split, verify=True) for split in ("train", "validation")}
    positions = {split: {int(entry.file[:5]): i for i, entry in enumerate(d.manifest.shards)}
                 for split, d in datasets.items()}
    assert len(places) == NUM_DOCS and {p["id"] for p in places} == set(texts)
    for place in places:
        ids = datasets[place["split"]].document(positions[place["split"]][place["shard"]], place["document"])
        assert ids[-1] == tokenizer.eos_id and len(ids) == place["num_tokens"]
        assert tokenizer.decode(ids[:-1]) == texts[place["id"]] and place["url"] == urls[place["id"]]
    assert datasets["train"].manifest.tokenizer.sha256 == tokenizer.info.sha256


def test_validation_documents_are_chosen_by_id_hash_and_never_trained_on(spark, built):
    places = spark.read.parquet(str(built / "tokens" / "documents"))
    by_split = {split: {row["id"] for row in places.where(F.col("split") == split).select("id").collect()}
                for split in ("train", "validation")}
    assert not by_split["train"] & by_split["validation"]
    docs = spark.read.parquet(str(built / "docs"))
    held_out = tokenize_docs.place_documents(docs, tokenize_docs.TokenizeConfig(validation_frac=0.1), 3) \
        .where(F.col("split") == "validation").select("id").collect()
    assert {row["id"] for row in held_out} == by_split["validation"]


def test_shards_are_identical_whatever_the_input_partitioning(spark, built, pages, tmp_path):
    shuffled = list(pages)
    random.Random(1).shuffle(shuffled)
    write_documents(tmp_path / "docs", shuffled + [{"id": "no-text", "url": None, "language": None, "text": ""}],
                    parts=5)
    tokenize_docs.main(["--input", str(tmp_path / "docs"), "--tokenizer", str(built / "tokenizer.json"),
                        "--source", "web", "--num-shards", "3", "--validation-frac", "0.1",
                        "--output", str(tmp_path / "tokens")])
    for split in ("train", "validation"):
        mine, theirs = (json.loads((root / split / "manifest.json").read_text())["shards"]
                        for root in (tmp_path / "tokens", built / "tokens"))
        assert mine == theirs


def test_each_task_number_gets_its_own_partition_and_no_partition_is_empty(spark):
    rows = spark.range(3_000).select((F.col("id") % 11).alias("task"))
    placed = exactly_partitioned(spark, rows, F.col("task"), 11).select("task", F.spark_partition_id().alias("part"))
    pairs = {(row["task"], row["part"]) for row in placed.distinct().collect()}
    assert pairs == {(k, k) for k in range(11)}


def test_rerun_is_skipped_while_input_config_and_tokenizer_are_unchanged(spark, built, caplog):
    args = ["--input", str(built / "docs"), "--tokenizer", str(built / "tokenizer.json"), "--source", "web",
            "--num-shards", "3", "--validation-frac", "0.1", "--output", str(built / "tokens")]
    before = (built / "tokens" / "_SUCCESS").stat().st_mtime_ns
    tokenize_docs.main(args)
    assert (built / "tokens" / "_SUCCESS").stat().st_mtime_ns == before
    assert "is complete and current; skipping" in caplog.text


def test_inspect_shows_tokens_per_language_and_verifies(built, capsys):
    assert cli.main(["inspect", str(built / "tokens"), "--verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "token-source" and report["summary"]["verified"].startswith("ok")
    splits = {row[0]: row for row in report["tables"]["splits"]["rows"]}
    assert splits["train"][2] == 218 and splits["validation"][3] == 17_230
    languages = report["tables"]["by language"]
    assert sum(row[3] for row in languages["rows"]) == 195_760  # tokens per language add up to all tokens
    assert cli.main(["inspect", str(built / "tokens" / "train"), "--decode", "2"]) == 0
    assert capsys.readouterr().out.count("--- sample") == 2


def test_missing_tokenizer_is_a_one_line_error(built, capsys):
    code = cli.main(["run", "tokenize", "--input", str(built / "docs"), "--output", str(built / "x")])
    assert code == 2 and capsys.readouterr().err.strip() == (
        "error: tokenize needs a tokenizer: give --tokenizer PATH/tokenizer.json "
        "(or `tokenize.tokenizer` in the config file)")


def test_documents_table_is_readable_as_a_dataset(built):
    assert ds.dataset(built / "tokens" / "documents", format="parquet").count_rows() == NUM_DOCS
