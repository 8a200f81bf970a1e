"""Shared fixtures: one real local Spark session for the whole run, and the shared data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DATAFLOW_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real pages, WARCs, benchmarks); tests needing it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (set DATAFLOW_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def spark():
    # Workers must run this interpreter and import this checkout (not another install).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("dataflow-tests")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.parquet.compression.codec", "zstd")
               .config("spark.driver.memory", "2g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()



@pytest.fixture(scope="session")
def quality_model(shared_data, tmp_path_factory) -> Path:
    """A real fastText quality classifier trained here (bench/common/real_pages.py), its card next to it."""
    from bench.common.real_pages import train_quality_model

    return train_quality_model(shared_data, tmp_path_factory.mktemp("quality"))
@pytest.fixture(scope="session")
def sample_quality_model(tmp_path_factory) -> Path:
    """A fastText quality classifier trained here (classifiers/train.py) on a sample crawl, for the tests
    that need a model but not one that knows real text: the crawl's articles as positives; its link
    lists and spam pages, in chunks of four lines, as negatives; 25 epochs, as a few hundred examples
    need, so that scores spread (0.45 to 0.95 on 200 sample articles). Its card lies next to it."""
    from classifiers.train import TrainConfig, train_quality_classifier
    from tests.document_files import write_jsonl
    from tests.sample_documents import sample_crawl_documents

    folder = tmp_path_factory.mktemp("sample_quality")
    pages = sample_crawl_documents(folder / "warc", 300, seed=29)
    chunks = [lines[start:start + 4] for lines in (page["text"].splitlines() for page in pages
                                                   if page["kind"] in ("boilerplate", "spam"))
              for start in range(0, len(lines), 4)]
    positives = write_jsonl(folder / "articles.jsonl", [{"text": page["text"]} for page in pages
                                                        if page["kind"] == "article"])
    negatives = write_jsonl(folder / "junk.jsonl", [{"text": "\n".join(chunk)} for chunk in chunks])
    model = folder / "quality.bin"
    train_quality_classifier([str(positives)], [str(negatives)], str(model), TrainConfig(bucket=50_000, epoch=25))
    return model


@pytest.fixture(scope="session")
def real_pages(shared_data) -> list[dict]:
    """The 1,695 real pages as extracted text: {id, text, language, url} (bench/common/real_pages.py)."""
    from bench.common.real_pages import load_pages

    return load_pages(shared_data)


@pytest.fixture(scope="session")
def pipeline_from_config(spark, tmp_path_factory) -> Path:
    """The pipeline run of tests/pipeline_config_run.py; the path of its config file (output: out/ beside it)."""
    from tests.pipeline_config_run import run_pipeline_from_config

    return run_pipeline_from_config(tmp_path_factory.mktemp("pipeline-config"))
