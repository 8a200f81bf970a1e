"""The classify job in real Spark local mode: quality scores, selection by top fraction (global and
per language, via approximate quantile) or by threshold, and bad models refused before Spark runs."""

from __future__ import annotations


import pyarrow.parquet as pq
import pytest

from classifiers.quality import load_quality_model, score_texts
import cli
from jobs import classify
from bench.common.real_pages import load_pages, write_documents
from tests.stage_outputs import stats_of


@pytest.fixture(scope="module")
def documents(shared_data, tmp_path_factory):
    """200 real pages (every eighth by id) as a documents folder."""
    return write_documents(tmp_path_factory.mktemp("classify") / "docs", load_pages(shared_data)[::8][:200])


@pytest.mark.slow
def test_keep_top_fraction_uses_the_approximate_quantile(spark, documents, quality_model):
    out = documents.parent / "top"
    assert classify.main(["--input", str(documents), "--output", str(out), "--model", str(quality_model),
                          "--keep-top", "0.25"]) == 0
    stats = stats_of(out)
    assert (stats["rows_in"], stats["rows_out"], stats["rejected_by_reason"]) == (200, 51, {"quality_score": 149})
    kept = pq.read_table(out / "data").to_pylist()
    rejected = pq.read_table(out / "rejected").to_pylist()
    cutoff = stats["extra"]["cutoffs"]["*"]
    assert min(row["quality_score"] for row in kept) >= cutoff > max(row["quality_score"] for row in rejected)
    assert rejected[0]["reject_value"] == f"{rejected[0]['quality_score']:.6g}"


def test_scores_in_spark_equal_the_scores_of_the_same_function_on_the_driver(spark, documents, quality_model):
    out = documents.parent / "annotate"
    classify.main(["--input", str(documents), "--output", str(out), "--model", str(quality_model)])
    kept = sorted(pq.read_table(out / "data", columns=["id", "text", "quality_score"]).to_pylist(),
                  key=lambda r: r["id"])
    assert len(kept) == 200  # no selection asked: annotate only
    expected = score_texts(load_quality_model(str(quality_model)), [row["text"] for row in kept])
    assert [row["quality_score"] for row in kept] == pytest.approx(expected.tolist(), abs=1e-6)


def test_per_language_cutoffs_keep_the_top_of_each_language(spark, documents, quality_model):
    out = documents.parent / "per_language"
    classify.main(["--input", str(documents), "--output", str(out), "--model", str(quality_model),
                   "--keep-top", "0.5", "--per-language"])
    stats = stats_of(out)
    kept = pq.read_table(out / "data", columns=["language"]).column("language").to_pylist()
    given = pq.read_table(documents, columns=["language"]).column("language").to_pylist()
    assert set(stats["extra"]["cutoffs"]) >= {"en", "de", "zh", "ja"}
    for language in ("en", "de", "zh"):
        assert abs(kept.count(language) - given.count(language) / 2) <= 1
    assert stats["rows_out"] == 111


def test_min_score_keeps_documents_at_or_above_it(spark, documents, quality_model):
    out = documents.parent / "threshold"
    classify.main(["--input", str(documents), "--output", str(out), "--model", str(quality_model), "--min-score",
                   "0.6"])
    scores = pq.read_table(out / "data", columns=["quality_score"]).column("quality_score").to_pylist()
    assert min(scores) >= 0.6 and stats_of(out)["extra"]["cutoffs"] == {"*": 0.6}


@pytest.mark.parametrize(("make_model", "message"), [
    (lambda path: None, "does not exist: train one with `dataflow classifiers train`"),
    (lambda path: path.write_bytes(b"\x00" * 64), "is not a fastText model"),
])
def test_bad_model_stops_with_one_line_before_spark_runs(tmp_path, capsys, make_model, message):
    model = tmp_path / "quality.bin"
    make_model(model)
    code = cli.main(["run", "classify", "--input", str(tmp_path), "--output", str(tmp_path / "out"),
                     "--model", str(model), "--keep-top", "0.1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()
