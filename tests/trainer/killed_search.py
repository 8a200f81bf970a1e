"""Start a `dataflow search` in its own process group and kill it mid-run, for the resume tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.checkpoint import step_folders
from trainer.metrics import read_jsonl
from trainer.search.engine.store import read_state

REPO = Path(__file__).resolve().parents[2]


def start_search(*args: str) -> subprocess.Popen:
    """`dataflow search ARGS` as a child process group, so one kill takes its worker pool and run too."""
    return subprocess.Popen(
        [sys.executable, "-c", "from cli import main; raise SystemExit(main())", "search", *args],
        cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)})


def kill_when_one_done_and_one_checkpointed(search: subprocess.Popen, runs: Path) -> str:
    """SIGKILL the search once a run is done and another has a checkpoint; the name of that running run."""
    deadline = time.monotonic() + 600  # a safety net on a loaded machine, not a timing assertion
    while time.monotonic() < deadline:
        if search.poll() is not None:
            pytest.fail(f"the search ended before it could be killed: {search.stderr.read().decode()[-2000:]}")
        folders = [folder for folder in runs.glob("*") if (folder / "status.json").is_file()] if runs.is_dir() else []
        states = {folder.name: read_state(folder) for folder in folders}
        running = [folder for folder in folders if states[folder.name].status == "running"
                   and step_folders(folder / "checkpoints")]
        if running and any(state.status == "done" for state in states.values()):
            os.killpg(search.pid, signal.SIGKILL)  # the search, its pool and the run in flight
            search.wait()
            return running[0].name
        time.sleep(0.02)
    os.killpg(search.pid, signal.SIGKILL)
    pytest.fail("no run reached a checkpoint within 600 s")


def finished_results(runs: Path) -> dict[str, tuple[int, bytes]]:
    """(mtime, bytes) of the result.json of every finished run, to show later that a resume left them alone."""
    return {folder.name: ((folder / "result.json").stat().st_mtime_ns, (folder / "result.json").read_bytes())
            for folder in runs.iterdir() if read_state(folder).status == "done"}


def assert_resumed_only_unfinished(runs: Path, finished: dict[str, tuple[int, bytes]], killed: str,
                                   num_runs: int) -> list[str]:
    """Finished runs untouched (status, one try, result), the killed run resumed from its own checkpoint on a
    second try, every planned run done; the killed run's start messages."""
    for name, (mtime, result) in finished.items():
        assert (read_state(runs / name).status, read_state(runs / name).attempts) == ("done", 1)
        assert (runs / name / "result.json").stat().st_mtime_ns == mtime
        assert (runs / name / "result.json").read_bytes() == result
    state = read_state(runs / killed)
    assert (state.status, state.attempts, state.history) == ("done", 2, ["try 1: interrupted", "try 2: done"])
    starts = [event["message"] for event in read_jsonl(runs / killed / "events.jsonl") if event["event"] == "start"]
    assert len(starts) == 2 and starts[1].startswith("training resumed from")
    assert {read_state(folder).status
            for folder in runs.iterdir()} == {"done"} and len(list(runs.iterdir())) == num_runs
    return starts
