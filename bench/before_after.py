"""Timing a Spark job file from two checkouts of the code, alternately, with peak memory per role.

Scale fixes are measured against the code before them: `--before DIR` names a checkout of it
(e.g. `mkdir /tmp/dataflow-before && git archive c400212 | tar -x -C /tmp/dataflow-before`,
the commit before issue 14's scale fixes), and the bench runs the same job file from DIR and from this checkout in turns
(before, after, before, after, ...), so that load from other work on a shared machine hits
both; it reports medians. Each run is a fresh `python jobs/<stage>.py` process on local[N]:
the driver (this Python process), the JVM (driver and executor in local mode) and the Python
workers are sampled every 100 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


class PeakMemory:
    """Peak resident memory of a process tree (default: this process), in total and per role:
    the root process (the driver's Python), the JVM, and the largest Python worker."""

    def __init__(self, pid: int | None = None, interval: float = 0.1):
        self.pid, self.interval = pid or os.getpid(), interval
        self.total = self.root = self.jvm = self.worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        root = psutil.Process(self.pid)
        while not self._stop.wait(self.interval):
            try:
                total = root_rss = root.memory_info().rss
                children = root.children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                try:
                    rss, name = child.memory_info().rss, child.name()
                except psutil.Error:
                    continue
                total += rss
                if name == "java":
                    self.jvm = max(self.jvm, rss)
                elif "python" in name:
                    self.worker = max(self.worker, rss)
            self.root, self.total = max(self.root, root_rss), max(self.total, total)


@dataclass
class Run:
    seconds: float
    total: int
    driver: int
    jvm: int
    worker: int


def run_job(code: Path, job: str, args: list[str], cores: int, driver_memory: str) -> Run:
    """`python jobs/<job>.py ARGS` with the code of checkout `code`, on local[cores]."""
    env = {**os.environ, "PYTHONPATH": str(code), "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": f"--master local[{cores}] --driver-memory {driver_memory} pyspark-shell"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(code / "jobs" / f"{job}.py"), *args], cwd=code, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"{job} from {code} failed ({process.returncode}):\n{output[-3000:]}")
    return Run(time.perf_counter() - started, memory.total, memory.root, memory.jvm, memory.worker)


def alternate(before: Path, repeats: int, run) -> dict[str, list]:
    """`run(label, code)` for before and after in turns, `repeats` times each: {label: [results]}."""
    results: dict[str, list] = {"before": [], "after": []}
    for repeat in range(repeats):
        for label, code in (("before", before), ("after", REPO)):
            results[label].append(run(label, code))
            print(f"  run {repeat + 1}/{repeats} {label}: {describe([results[label][-1][0]])}", flush=True)
    return results


def print_sides(before: Path, results: dict[str, list], step: str) -> None:
    """One line per side from `alternate`'s results, whose runs return (Run, seconds of the step named `step`)."""
    for label, runs in results.items():
        steps = sorted(seconds for _, seconds in runs)
        print(f"{label:<7} ({before if label == 'before' else 'this checkout'}): {describe([r for r, _ in runs])}; "
              f"{step} {steps[len(steps) // 2]:.1f} s")


def describe(runs: list[Run]) -> str:
    """Medians (and the spread of times) of `runs`."""
    def median(values):
        return statistics.median(values)

    times = sorted(run.seconds for run in runs)
    spread = f" ({times[0]:.0f}-{times[-1]:.0f})" if len(times) > 1 else ""
    return (f"{median(times):.1f} s{spread}; peak memory {gib(median(run.total for run in runs))} in all: "
            f"driver Python {gib(median(run.driver for run in runs))}, JVM {gib(median(run.jvm for run in runs))}, "
            f"largest Python worker {gib(median(run.worker for run in runs))}")


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"
