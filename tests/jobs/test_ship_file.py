"""Model files shipped to executors: two models with one base name in one Spark application.

Spark keys shipped files by base name for the whole application; the whole suite's session once
shipped a classify test's quality.bin, then refused the search's own quality.bin ("exists and does
not match contents"). `ship_file` names a local file by its path, size and mtime."""

import os

from jobs.common.spark import ship_file


def _read_on_executor(spark, name: str) -> bytes:
    def read(_):
        from pyspark import SparkFiles

        with open(SparkFiles.get(name), "rb") as handle:
            yield handle.read()

    return spark.sparkContext.parallelize([0], 1).mapPartitions(read).collect()[0]


def test_two_models_with_one_base_name_are_both_shipped_and_read_back(spark, tmp_path):
    first, second = tmp_path / "a" / "quality.bin", tmp_path / "b" / "quality.bin"
    for path, payload in ((first, b"first model"), (second, b"second model, another size")):
        path.parent.mkdir()
        path.write_bytes(payload)
    first_name, second_name = ship_file(spark, str(first)), ship_file(spark, str(second))
    assert first_name != second_name and first_name.endswith("-quality.bin")
    assert _read_on_executor(spark, first_name) == b"first model"
    assert _read_on_executor(spark, second_name) == b"second model, another size"
    assert ship_file(spark, str(first)) == first_name  # the same file again: the same name, no error


def test_a_model_rewritten_in_place_is_shipped_under_a_new_name(spark, tmp_path):
    model = tmp_path / "quality.bin"
    model.write_bytes(b"version one")
    before = ship_file(spark, str(model))
    model.write_bytes(b"version two, retrained")
    os.utime(model, ns=(os.stat(model).st_atime_ns, os.stat(model).st_mtime_ns + 1_000_000_000))
    after = ship_file(spark, str(model))
    assert after != before
    assert _read_on_executor(spark, after) == b"version two, retrained"
