"""Complete means complete on object stores: with a rename that copies then deletes file by file
(as S3 does), a crash at any point never leaves an output that a rerun would skip as complete."""

from __future__ import annotations

import uuid

import fsspec
import pytest

from dataflow.stage import complete_stats, publish

NEW_FILES = {"data/part-0.parquet": b"new rows 0", "data/part-1.parquet": b"new rows 1!",
             "rejected/part-0.parquet": b"new rejected"}


class CopyThenDeleteFS:
    """fsspec's memory filesystem behind the stage contract's calls, renaming as object stores do:
    every file copied (in name order), then the source deleted; the copy after `crash_after`
    copies raises, as a killed driver would stop."""

    def __init__(self, crash_after: int | None = None):
        self.fs, self.crash_after, self.copies = fsspec.filesystem("memory"), crash_after, 0

    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def delete(self, path: str) -> None:
        self.fs.rm(path, recursive=True)

    def rename(self, src: str, dst: str) -> None:
        for name in sorted(self.file_sizes(src)):
            if self.crash_after is not None and self.copies >= self.crash_after:
                raise KeyboardInterrupt("driver killed")
            self.fs.copy(f"{src}/{name}", f"{dst}/{name}")
            self.copies += 1
        self.fs.rm(src, recursive=True)

    def write_bytes(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(path, data)

    def read_bytes(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def file_sizes(self, path: str) -> dict[str, int]:
        root = self.fs._strip_protocol(path).rstrip("/") + "/"
        return {name.removeprefix(root): info["size"] for name, info in self.fs.find(path, detail=True).items()}


def stage_folder(fs: CopyThenDeleteFS, folder: str, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        fs.write_bytes(f"{folder}/{name}", data)
    return folder


@pytest.fixture
def root() -> str:
    return f"memory://run-{uuid.uuid4().hex}"


@pytest.fixture
def old_output(root) -> str:
    """A complete output of an earlier run."""
    fs, output = CopyThenDeleteFS(), f"{root}/docs"
    publish(fs, stage_folder(fs, f"{output}.tmp-a", {"data/part-0.parquet": b"old rows"}), output, {"rows": 1}, "a")
    assert complete_stats(fs, output)["rows"] == 1
    return output


# Replacing the old output copies 2 files aside (its _SUCCESS is deleted first), then 4 into place.
@pytest.mark.parametrize("crash_after", range(6))
def test_crash_at_any_copy_leaves_no_output_that_looks_complete(old_output, crash_after):
    fs = CopyThenDeleteFS(crash_after)
    tmp = stage_folder(fs, f"{old_output}.tmp-b", NEW_FILES)
    with pytest.raises(KeyboardInterrupt):
        publish(fs, tmp, old_output, {"rows": 2}, "b")
    assert complete_stats(fs, old_output) is None  # the rerun recomputes instead of skipping


def test_rerun_after_a_crash_completes_the_output(old_output):
    crashed = CopyThenDeleteFS(crash_after=5)
    with pytest.raises(KeyboardInterrupt):
        publish(crashed, stage_folder(crashed, f"{old_output}.tmp-b", NEW_FILES), old_output, {"rows": 2}, "b")
    fs = CopyThenDeleteFS()
    publish(fs, stage_folder(fs, f"{old_output}.tmp-c", NEW_FILES), old_output, {"rows": 2}, "c")
    stats = complete_stats(fs, old_output)
    assert stats["rows"] == 2 and stats["output_files"] == {name: len(data) for name, data in NEW_FILES.items()}


def test_a_listed_file_missing_or_resized_makes_the_output_incomplete(old_output):
    fs = CopyThenDeleteFS()
    fs.write_bytes(f"{old_output}/data/part-0.parquet", b"cut")
    assert complete_stats(fs, old_output) is None
    fs.delete(f"{old_output}/data/part-0.parquet")
    assert complete_stats(fs, old_output) is None
