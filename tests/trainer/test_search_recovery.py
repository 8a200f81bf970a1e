"""A search survives its failures: a killed worker, a second writer, a changed spec, a torn file, a divergence.

Real proxies on CPU (2-layer d_model-32 GPTs on the synthetic sources), real processes and signals.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from search_sources import PROXY_TRAIN, search_file, write_sources

from cli import main
from dataflow.errors import ConfigError
from trainer.metrics import read_jsonl
from trainer.search.engine import backends
from trainer.search.engine.config import LocalBackend, SlurmBackend
from trainer.search.engine.layout import LEASE
from trainer.search.engine.locks import live_holder
from trainer.search.engine.runner import claim_folder, retry_command
from trainer.search.engine.store import RunStore, read_state, write_json, write_state
from trainer.search.engine.worker import execute_run
from trainer.search.reports.mixture import _compare
from trainer.search.searches.mixture import (
    predicted_name,
    run_mixture_search,
    run_spec,
)
from trainer.search.searches.mixture_config import load_mixture_config
from trainer.search.searches.mixture_inputs import read_inputs

REPO = Path(__file__).resolve().parents[2]
LONG = {"preset": "tiny", "total_tokens": 60 * 128, "confirm_seeds": 2,  # 60 steps: long enough to kill mid-run
        "train": {**PROXY_TRAIN, "checkpoint": {"every_steps": 20}, "log": {"every_steps": 2, "tensorboard": False}}}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("recovery-sources"))


def _search(sources, root: Path, **overrides):
    config = load_mixture_config(search_file(root / "search.yaml", sources, root / "out", **overrides))
    return config, read_inputs(config)


def _runs(search, count: int) -> tuple[RunStore, list[Path]]:
    config, inputs = search
    store = RunStore(config.out_dir)
    return store, [store.add(run_spec(config, inputs, f"m{index}", [0.2, 0.3, 0.5], 0, "candidate"))
                   for index in range(count)]


def _training(folder: Path) -> bool:
    """The run's worker is past its first logged step and not at its last: a kill lands mid-run."""
    try:
        state = read_state(folder)
        steps = [row["step"] for row in read_jsonl(folder / "metrics.jsonl") if row["kind"] == "train"]
    except (OSError, ValueError):
        return False
    return state.status == "running" and state.pid is not None and bool(steps) and steps[-1] < 50


def _kill_first_training(runs: list[Path], killed: list[str]) -> None:
    """SIGKILL the worker of the first run seen training (waits on the run's own files, not on time)."""
    deadline = time.monotonic() + 600  # a safety net on a loaded machine, not a timing assertion
    while time.monotonic() < deadline:
        for folder in runs:
            if _training(folder):
                os.kill(read_state(folder).pid, signal.SIGKILL)
                killed.append(folder.name)
                return
        time.sleep(0.02)


def _with_kill(folders: list[Path], run) -> str:
    killed: list[str] = []
    killer = threading.Thread(target=_kill_first_training, args=(folders, killed))
    killer.start()
    run()
    killer.join()
    assert killed, "no run was seen training"
    return killed[0]


@pytest.mark.fault
def test_a_killed_worker_is_one_failed_try_and_the_other_runs_go_on(sources, tmp_path):
    search = _search(sources, tmp_path, proxy=LONG)
    store, folders = _runs(search, 4)
    finished = []
    killed = _with_kill(folders, lambda: backends.run_all(
        folders, LocalBackend(workers=2), max_attempts=2, work_dir=tmp_path,
        progress=lambda folder, status: finished.append((folder.name, status))))

    assert sorted(finished) == [(f"m{index}-s0", "done") for index in range(4)]  # one report per run, at its end
    state = read_state(store.runs / killed)
    assert (state.status, state.attempts, state.failures) == ("done", 2, 1)  # the kill counted as a failed try
    assert state.history[0] == "try 1: worker lost: killed by SIGKILL (signal 9) (the OOM killer, or kill -9)"
    assert state.history[1:] == ["try 2: done"]
    others = [read_state(folder) for folder in folders if folder.name != killed]
    assert [(s.status, s.attempts, s.history) for s in others] == [("done", 1, ["try 1: done"])] * 3
    assert all(row["target"] > 0 for row in store.write_table(search[0].target_weights).to_pylist())


@pytest.mark.fault
def test_a_killed_worker_with_no_tries_left_fails_naming_the_signal(sources, tmp_path):
    search = _search(sources, tmp_path, proxy=LONG)
    store, folders = _runs(search, 2)
    killed = _with_kill(folders, lambda: backends.run_all(folders, SlurmBackend(kind="slurm", cluster="local"),
                                                          max_attempts=1, work_dir=tmp_path))
    rows = {row["run"]: row for row in store.write_table(search[0].target_weights).to_pylist()}
    assert rows[killed]["status"] == "failed" and rows[killed]["target"] is None
    assert rows[killed]["failure"].startswith("worker lost: Slurm job")
    (other,) = set(rows) - {killed}
    assert rows[other]["status"] == "done" and rows[other]["target"] > 0


def _hold_folder(root: Path) -> subprocess.Popen:
    """Another process that holds the search folder, as a running search does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time; from pathlib import Path; from trainer.search.engine.locks import "
                                "lock_folder; lock_folder(Path(sys.argv[1])); print('held', flush=True); "
                                "time.sleep(600)"), str(root)],
        cwd=REPO, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert holder.stdout.readline().strip() == b"held"
    return holder


def test_a_second_search_on_a_folder_in_use_is_refused_naming_the_holder(sources, tmp_path):
    config, _ = _search(sources, tmp_path)
    holder = _hold_folder(Path(config.out_dir))
    try:
        with pytest.raises(ConfigError, match=rf"in use by another search \(pid {holder.pid} on host "
                                              rf"{socket.gethostname()}, since "):
            run_mixture_search(config, resume=True)
    finally:
        holder.kill()
        holder.wait()
    claim_folder(RunStore(config.out_dir), config, resume=True)  # the dead holder's lock is taken over


def test_a_resume_waits_for_a_worker_still_training_the_run_instead_of_training_it_twice(sources, tmp_path):
    search = _search(sources, tmp_path, proxy=LONG)
    _, (folder,) = _runs(search, 1)
    orphan = subprocess.Popen(  # the worker of a killed search, still training
        [sys.executable, "-c", ("import sys, torch; torch.set_num_threads(1); from trainer.search.engine.worker import "
                                "execute_run; execute_run(sys.argv[1], 1)"), str(folder)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    while not _training(folder) and orphan.poll() is None:
        time.sleep(0.02)
    assert execute_run(folder, 1) == "done"  # waits on the orphan's lease, then finds the run done
    assert orphan.wait() == 0
    assert read_state(folder).history == ["try 1: done"]
    assert [e["event"] for e in read_jsonl(folder / "events.jsonl")].count("start") == 1
    assert not (folder / LEASE).exists()


def test_a_lease_is_taken_over_when_its_holder_is_dead_or_its_heartbeat_stale(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        lease = tmp_path / LEASE
        write_json(lease, {"host": socket.gethostname(), "pid": sleeper.pid, "heartbeat": time.time()})
        assert live_holder(lease)["pid"] == sleeper.pid  # alive and beating: the run is busy
        write_json(lease, {"host": "another-host", "pid": sleeper.pid, "heartbeat": time.time() - 3600})
        assert live_holder(lease) is None  # no heartbeat for an hour: taken over
    finally:
        sleeper.kill()
        sleeper.wait()
    write_json(lease, {"host": socket.gethostname(), "pid": sleeper.pid, "heartbeat": time.time()})
    assert live_holder(lease) is None  # its process on this host is gone: taken over at once


def test_store_files_have_one_writer_each_and_are_never_half_written(tmp_path):
    state = read_state(RunStore(tmp_path).add(replace(_spec(tmp_path), run_id="r")))
    errors = []

    def write_many(pid: int) -> None:
        try:
            for attempt in range(300):
                write_state(tmp_path / "runs" / "r", replace(state, pid=pid, attempts=attempt))
        except OSError as err:
            errors.append(err)

    threads = [threading.Thread(target=write_many, args=(pid,)) for pid in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and read_state(tmp_path / "runs" / "r").attempts == 299
    assert [path.name for path in (tmp_path / "runs" / "r").iterdir() if ".tmp" in path.name] == []


def _spec(root: Path):
    from trainer.search.engine.store import RunSpec

    return RunSpec(run_id="x", mixture="m", weights={"a": 0.5, "b": 0.5}, seed=0, train={"max_steps": 1},
                   mixture_file={"name": "m"}, labels=("candidate",))


def test_a_stored_run_with_the_same_id_and_other_weights_is_refused_showing_both(tmp_path):
    store = RunStore(tmp_path)
    store.add(_spec(tmp_path))
    store.add(replace(_spec(tmp_path), labels=("natural",)))  # the same spec with another role: merged
    with pytest.raises(ConfigError, match=r'stored \{"weights": \{"a": 0.5, "b": 0.5\}\}, asked \{"weights": '
                                          r'\{"a": 0.25, "b": 0.75\}\}'):
        store.add(replace(_spec(tmp_path), weights={"a": 0.25, "b": 0.75}))
    assert read_state(tmp_path / "runs" / "x").status == "queued"


def test_predicted_runs_are_named_by_their_weights_and_the_verdict_uses_the_pick_in_best():
    old, new = predicted_name({"web": 0.5, "wiki": 0.5}), predicted_name({"web": 0.25, "wiki": 0.75})
    assert old != new and old == predicted_name({"wiki": 0.5, "web": 0.5}) and old.startswith("predicted-")
    rows = [{"run": f"{name}-s{seed}", "mixture": name, "labels": "predicted", "status": "done", "target": target,
             "w_web": weight, "w_wiki": 1 - weight}
            for name, weight, target in ((old, 0.5, 1.0), (new, 0.25, 2.0)) for seed in (0, 1)]
    compared = _compare(rows, "predicted", new)
    assert (compared["mixture"], compared["seeds"], compared["target"]) == (new, 2, [2.0, 0.0])


def test_a_failed_run_is_rerun_by_retry_failed_and_an_unreadable_folder_is_skipped(sources, tmp_path, capsys):
    config, inputs = _search(sources, tmp_path)
    store = RunStore(config.out_dir)
    claim_folder(store, config, resume=False)
    spec = run_spec(config, inputs, "m0", [0.2, 0.3, 0.5], 0, "candidate")
    moved = tmp_path / "web-moved"
    broken = replace(spec, run_id="m1-s0", mixture_file={**spec.mixture_file, "sources": {
        **spec.mixture_file["sources"], "web": {**spec.mixture_file["sources"]["web"], "path": str(moved)}}})
    folders = [store.add(spec), store.add(broken)]
    backends.run_all(folders, config.backend, max_attempts=1, work_dir=store.root)
    assert [read_state(folder).status for folder in folders] == ["done", "failed"]
    assert store.unfinished(folders) == []  # --resume alone keeps a failed run failed

    with pytest.raises(ConfigError, match="pass --resume too"):
        claim_folder(store, config, resume=False, retry_failed=True)
    moved.symlink_to(sources["web"])  # the user fixes the cause, then runs the command the search printed:
    assert retry_command("mixture", config.out_dir) == (
        f"dataflow search mixture --config {config.out_dir}/search.yaml --resume --retry-failed")
    claim_folder(store, load_mixture_config(Path(config.out_dir) / "search.yaml"), resume=True, retry_failed=True)
    assert store.unfinished(folders) == [folders[1]]
    backends.run_all(store.unfinished(folders), config.backend, max_attempts=1, work_dir=store.root)
    state = read_state(folders[1])
    assert (state.status, state.attempts, state.failures) == ("done", 2, 0)
    assert state.history[1:] == ["requeued by --retry-failed", "try 2: done"]

    (folders[0] / "status.json").write_text("")  # torn by an older version or by hand
    assert [row["run"] for row in store.rows(config.target_weights)] == ["m1-s0"]
    assert store.unfinished(folders) == []
    assert main(["search", "status", config.out_dir]) == 0
    out = capsys.readouterr().out
    assert f"unreadable run folder {folders[0]} (left out): JSONDecodeError" in out and "1 runs; 1 done" in out


def test_a_diverging_run_is_recorded_failed_after_its_first_try(sources, tmp_path):
    absurd = {**LONG, "train": {**LONG["train"], "optim": {"lr": 1e3, "warmup_steps": 2}}}
    search = _search(sources, tmp_path, proxy=absurd)
    store, (folder,) = _runs(search, 1)
    assert execute_run(folder, 3) == "failed"

    state = read_state(folder)
    assert (state.attempts, state.failures) == (1, 1)  # not 3: the same checkpoint and seed would diverge again
    assert state.history[0].startswith("try 1: TrainingDiverged: training diverged at step")
    assert state.history[1:] == ["diverged: not retried (a retry replays the same checkpoint, seed and data order)"]
    (row,) = store.write_table(search[0].target_weights).to_pylist()
    assert row["status"] == "failed" and row["failure"].startswith("TrainingDiverged") and row["target"] is None


def test_the_same_failure_from_the_same_state_is_not_tried_again(sources, tmp_path):
    search = _search(sources, tmp_path)
    _, (folder,) = _runs(search, 1)
    mixture = folder / "mixture.yaml"  # a source the run needs is gone: every try fails the same way
    mixture.write_text(mixture.read_text().replace(str(sources["web"].resolve()), str(tmp_path / "gone")))
    assert execute_run(folder, 5) == "failed"
    state = read_state(folder)
    assert (state.attempts, state.failures) == (2, 2)  # not 5: the second identical failure is final
    assert state.history[-1] == "the same failure from the same checkpoint twice: not retried"
