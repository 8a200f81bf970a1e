"""Outputs never destroy inputs or unrelated folders: every job refuses, before Spark starts and
with one line, an output that is, contains or lies inside an input, or an existing folder that
is not a stage output (a user's Spark-written Parquet folder, `_SUCCESS` and all, included); a run
cleans only its own temporary folder."""

from __future__ import annotations

import json

import pytest

import cli
from dataflow.errors import UserError
from dataflow.stage import check_apart, check_output, data_path
from dataflow.tokenize.tokenizer import TokenizerTrainConfig, save_tokenizer, train_byte_level_bpe
from jobs import classify as classify_job
from jobs import decontaminate as decontaminate_job
from jobs import dedup as dedup_job
from jobs import extract as extract_job
from jobs import filter as filter_job
from jobs import mix as mix_job
from jobs import pipeline as pipeline_job
from jobs import tokenize_docs as tokenize_job
from jobs import train_tokenizer as train_tokenizer_job
from jobs.common.stage_io import Stage, run_output
from bench.common.real_pages import write_documents
from tests.trainer.conftest import tiny_config, write_mixture, write_source
from trainer.train import Trainer

PAGES = [{"id": f"doc-{n}", "text": f"Page {n} has a few plain sentences about gardens. " * 20, "language": "en",
          "url": f"https://example.org/{n}"} for n in range(6)]


@pytest.fixture
def run_folder(tmp_path):
    """out/docs: a documents folder inside a run folder that holds other work too."""
    write_documents(tmp_path / "out" / "docs", PAGES)
    (tmp_path / "out" / "notes.txt").write_text("the user's own notes")
    return tmp_path / "out"


def test_output_containing_the_input_is_refused_and_nothing_is_deleted(run_folder):
    with pytest.raises(UserError, match=r"--output .*out contains the input .*out/docs"):
        filter_job.main(["--input", str(run_folder / "docs"), "--output", str(run_folder)])
    assert (run_folder / "docs" / "part-00000.parquet").exists() and (run_folder / "notes.txt").exists()


def test_output_equal_to_the_input_is_refused(run_folder):
    with pytest.raises(UserError, match="is the input"):
        dedup_job.main(["--input", str(run_folder / "docs"), "--output", str(run_folder / "docs") + "/"])
    assert (run_folder / "docs" / "part-00000.parquet").exists()


def test_output_inside_the_input_is_refused(run_folder):
    with pytest.raises(UserError, match="lies inside the input"):
        filter_job.main(["--input", str(run_folder / "docs"), "--output", str(run_folder / "docs" / "filtered")])


def test_existing_folder_that_is_not_a_stage_output_is_refused(run_folder, tmp_path):
    keep = tmp_path / "photos"
    keep.mkdir()
    (keep / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(UserError, match=r"photos exists and is not a stage output \(it holds holiday.jpg"):
        filter_job.main(["--input", str(run_folder / "docs"), "--output", str(keep)])
    assert (keep / "holiday.jpg").exists()


def test_extract_output_holding_the_warc_files_is_refused(tmp_path):
    warc = tmp_path / "crawl" / "a.warc.gz"
    warc.parent.mkdir()
    warc.write_bytes(b"")
    with pytest.raises(UserError, match="contains the input"):
        extract_job.main(["--input", str(warc), "--output", str(tmp_path / "crawl")])


def test_pipeline_run_folder_inside_the_warc_folder_is_refused(tmp_path):
    (tmp_path / "warcs").mkdir()
    (tmp_path / "warcs" / "a.warc.gz").write_bytes(b"")
    with pytest.raises(UserError, match="warcs/run/docs lies inside the input"):
        pipeline_job.main(["--input", str(tmp_path / "warcs"), "--output", str(tmp_path / "warcs" / "run")])


def test_tokenizer_file_inside_its_input_is_refused(run_folder):
    with pytest.raises(UserError, match="tokenizer.json lies inside the input"):
        train_tokenizer_job.main(["--input", str(run_folder / "docs"),
                                  "--output", str(run_folder / "docs" / "tokenizer.json")])


def test_trainer_out_dir_inside_a_token_source_is_refused(tmp_path):
    source = write_source(tmp_path / "tokens" / "web", "web")
    mixture = write_mixture(tmp_path / "mix.yaml", {"web": (source, 1.0)})
    with pytest.raises(UserError, match=r"out_dir .*tokens/web/run lies inside the input .*tokens/web"):
        Trainer(tiny_config(source / "run", mixture))


def test_local_glob_inputs_compare_by_their_matches(tmp_path):
    """`--input 'out/warc/*.warc.gz' --output out` (README) is fine: the run folder's stage
    folders are beside the WARCs, not over them."""
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "a.warc.gz").write_bytes(b"")
    check_apart(str(tmp_path / "docs"), [str(tmp_path / "warc" / "*.warc.gz")])
    with pytest.raises(UserError, match="contains the input"):
        check_apart(str(tmp_path / "warc"), [str(tmp_path / "warc" / "*.warc.gz")])


@pytest.mark.parametrize(("output", "given"), [
    ("s3a://bucket/run", "s3://bucket/run/docs"),
    ("s3://bucket/run/docs/", "s3a://bucket/run/./docs"),
    ("s3a://bucket/run/x", "s3://bucket/run/*.warc.gz"),
])
def test_urls_compare_by_store_and_key_across_scheme_aliases(output, given):
    with pytest.raises(UserError):
        check_apart(output, [given])


def test_symlinked_input_is_resolved(tmp_path, run_folder):
    (tmp_path / "alias").symlink_to(run_folder / "docs")
    with pytest.raises(UserError, match="is the input"):
        check_apart(str(tmp_path / "alias"), [str(run_folder / "docs")])


def test_rerun_replaces_its_own_output_and_leaves_other_runs_temporary_folders(spark, run_folder):
    other_run = run_folder / "filtered.tmp-0123456789ab"
    other_run.mkdir()
    (other_run / "part-0.parquet").write_bytes(b"another run is writing this")
    for _ in range(2):
        assert filter_job.main(["--input", str(run_folder / "docs"), "--output", str(run_folder / "filtered"),
                                "--force"]) == 0
    assert json.loads((run_folder / "filtered" / "stats.json").read_text())["rows_in"] == len(PAGES)
    assert (other_run / "part-0.parquet").read_bytes() == b"another run is writing this"
    assert sorted(path.name for path in run_folder.iterdir()) == [
        "docs", "filtered", "filtered.tmp-0123456789ab", "notes.txt"]


# --- A user's own Spark-written Parquet folder (part files and _SUCCESS) is never replaced ---------------------


@pytest.fixture
def users_parquet(spark, tmp_path):
    """A folder the user wrote with Spark: part files, .crc files and _SUCCESS, but no stats.json of ours."""
    folder = tmp_path / "my_table"
    spark.createDataFrame([(n, f"row {n}") for n in range(5)], "id INT, note STRING").write.parquet(str(folder))
    assert (folder / "_SUCCESS").exists()
    return folder


def snapshot(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def tiny_tokenizer(path):
    save_tokenizer(train_byte_level_bpe(iter(["a few plain words about gardens"] * 20),
                                        TokenizerTrainConfig(vocab_size=300)), path)
    return path


def tiny_quality_model(path):
    import fasttext

    train = path.with_suffix(".txt")
    train.write_text("".join(f"__label__{label} {text} {n}\n" for n in range(20)
                             for label, text in (("hq", "careful prose about gardens"), ("lq", "buy now cheap"))))
    fasttext.train_supervised(input=str(train), epoch=1, dim=8, minCount=1).save_model(str(path))
    return path


def stage_arguments(stage, tmp_path, run_folder, output):
    """The arguments of `stage` with valid inputs, its --output at `output`."""
    docs = str(run_folder / "docs")
    if stage == "extract":
        warc = tmp_path / "a.warc.gz"
        warc.write_bytes(b"")
        return extract_job, ["--input", str(warc), "--output", output]
    if stage == "classify":
        model = tiny_quality_model(tmp_path / "q.bin")
        return classify_job, ["--input", docs, "--model", str(model), "--output", output]
    if stage == "decontaminate":
        bench = tmp_path / "bench.jsonl"
        bench.write_text(json.dumps({"question": "what is the capital of a country far away from here"}) + "\n")
        return decontaminate_job, ["--input", docs, "--benchmark", f"mine={bench}:question", "--output", output]
    if stage == "tokenizer":
        return train_tokenizer_job, ["--input", docs, "--output", output]
    if stage == "tokenize":
        return tokenize_job, ["--input", docs, "--tokenizer", str(tiny_tokenizer(tmp_path / "tok.json")),
                              "--source", "web", "--output", output]
    if stage == "mix":
        source = write_source(tmp_path / "tokens" / "web", "web")
        return mix_job, ["--mixture", str(write_mixture(tmp_path / "mix.yaml", {"web": (source, 1.0)})),
                         "--output", output]
    if stage == "pipeline":
        (tmp_path / "warcs").mkdir()
        (tmp_path / "warcs" / "a.warc.gz").write_bytes(b"")
        return pipeline_job, ["--input", str(tmp_path / "warcs"), "--output", output]
    return {"filter": filter_job, "dedup": dedup_job}[stage], ["--input", docs, "--output", output]


@pytest.mark.parametrize("stage", ["extract", "filter", "dedup", "classify", "decontaminate", "tokenizer", "tokenize",
                                   "mix", "pipeline"])
def test_every_stage_refuses_a_users_spark_parquet_folder_and_keeps_its_files(stage, users_parquet, run_folder,
                                                                              tmp_path):
    before = snapshot(users_parquet)
    job, argv = stage_arguments(stage, tmp_path, run_folder, str(users_parquet))
    with pytest.raises(UserError, match=r"my_table (exists and is not a stage output|is a Parquet dataset)"):
        job.main([*argv, "--force"])
    assert snapshot(users_parquet) == before


def test_the_engine_side_check_refuses_a_users_folder_too(spark, users_parquet):
    """Remote outputs (s3a://, hdfs://) are checked when the stage runs, through Hadoop's FileSystem:
    the same refusal, here on its file:// URL."""
    before = snapshot(users_parquet)
    stage = Stage("filter", f"file://{users_parquet}", {}, [])
    with pytest.raises(UserError, match="exists and is not a stage output"):
        run_output(spark, stage, lambda tmp: {})
    assert snapshot(users_parquet) == before


@pytest.mark.parametrize("stats", [b"", b"{torn", b'{"rows_in": 3}', b'["stage", "fingerprint"]'])
def test_a_stats_json_not_naming_a_stage_and_fingerprint_is_not_ours(tmp_path, stats):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "stats.json").write_bytes(stats)
    (folder / "_SUCCESS").write_bytes(b"")
    with pytest.raises(UserError, match="not a stage output"):
        check_output(str(folder), [], stage="filter")
    assert (folder / "stats.json").read_bytes() == stats


def test_a_folder_of_ours_stays_replaceable(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "stats.json").write_text(json.dumps({"stage": "filter", "fingerprint": "ab12"}))
    check_output(str(folder), [], stage="filter")


def test_another_stages_output_is_refused_in_one_line(tmp_path, capfd):
    """`run filter --output` a token folder would delete the tokens: refused before Spark starts, nothing deleted."""
    folder = tmp_path / "tokens"
    folder.mkdir()
    (folder / "stats.json").write_text(json.dumps({"stage": "tokenize", "fingerprint": "ab12"}))
    (folder / "train").mkdir()
    with pytest.raises(UserError, match="is the output of the tokenize stage, not of filter") as refused:
        check_output(str(folder), [], stage="filter")
    assert "\n" not in str(refused.value) and sorted(path.name for path in folder.iterdir()) == ["stats.json", "train"]
    assert cli.main(["run", "filter", "--input", str(tmp_path / "nowhere"), "--output", str(folder)]) == 2
    assert "is the output of the tokenize stage" in capfd.readouterr().err


def test_a_users_spark_parquet_folder_is_read_as_plain_parquet(users_parquet):
    """Its `_SUCCESS` does not make it a stage folder whose rows would be under data/."""
    assert data_path(str(users_parquet)) == str(users_parquet)
