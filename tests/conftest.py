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
    """A real fastText quality classifier trained here: WikiText paragraphs as positives, forum
    threads, home pages and web-archive captures (their trafilatura text, in chunks of four
    lines) as negatives. Its card lies next to it."""
    import gzip
    import json

    from classifiers.train import TrainConfig, train_quality_classifier

    folder = tmp_path_factory.mktemp("quality")
    negatives = folder / "boilerplate.jsonl"
    with gzip.open(shared_data / "html" / "extracted_trafilatura.jsonl.gz", "rt", encoding="utf-8") as pages, \
            open(negatives, "w", encoding="utf-8") as out:
        for page in map(json.loads, pages):
            if page["id"].startswith("magic-html-forum/") or page["id"].endswith("_main_site") or "/archive." in page["id"]:
                lines = [line for line in (page["text"] or "").splitlines() if line.strip()]
                for start in range(0, len(lines), 4):
                    out.write(json.dumps({"body": "\n".join(lines[start:start + 4])}) + "\n")
    model = folder / "quality.bin"
    config = TrainConfig(text_column="body", max_docs_per_class=500, bucket=50_000)
    train_quality_classifier([str(shared_data / "text" / "wikitext-2" / "valid.txt.gz")], [str(negatives)],
                             str(model), config)
    return model
