"""Running a command while sampling the peak resident memory and the CPU time of its whole process tree.

A Spark local job is a JVM plus Python workers, a datatrove run a parent plus worker
processes: the figures that matter are sums over the tree, sampled every 100 ms. CPU seconds
(user + system, the last value seen for each process) hold better than wall time when other
work shares the machine.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import NamedTuple

import psutil


class Measured(NamedTuple):
    seconds: float
    peak_bytes: int
    result: subprocess.CompletedProcess
    cpu_seconds: float


def run_measured(command: list[str], timeout_seconds: float = 3600, roles: dict[str, int] | None = None,
                 **popen_kwargs) -> Measured:
    """Run `command`; return wall seconds, peak tree RSS in bytes, the completed process and tree CPU seconds.

    `roles`, when given, receives peak RSS by role (`_role`): `driver` (the command's own process
    plus the JVM it starts: a Spark local driver) and `python_worker` (the largest single Python
    process below them). A command still running after `timeout_seconds` is killed with its whole
    tree and raises.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kwargs)
    peak = 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample():
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                sizes = [(p, _rss(p)) for p in tree]
                peak = max(peak, sum(size for _, size in sizes))
                if roles is not None:
                    _update_roles(roles, root, sizes)
                cpu.update({p.pid: _cpu(p, cpu.get(p.pid, 0.0)) for p in tree})
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(process.pid).children(recursive=True):
            child.kill()
        process.kill()
        raise RuntimeError(f"{' '.join(command[:3])}... still running after {timeout_seconds:.0f}s: killed") from None
    finally:
        done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}... failed ({process.returncode}):\n{stderr[-3000:]}")
    return Measured(seconds, peak, result, sum(cpu.values()))


def _cpu(process: psutil.Process, last: float) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return last


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


def _update_roles(roles: dict[str, int], root: psutil.Process, sizes: list[tuple[psutil.Process, int]]) -> None:
    driver = sum(size for proc, size in sizes if proc.pid == root.pid or _name(proc) == "java")
    worker = max((size for proc, size in sizes if proc.pid != root.pid and _name(proc).startswith("python")), default=0)
    roles["driver"] = max(roles.get("driver", 0), driver)
    roles["python_worker"] = max(roles.get("python_worker", 0), worker)


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
