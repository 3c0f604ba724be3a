"""CPU accounting and process lookup from /proc (Linux) for the platform benchmarks: CPU
seconds and run-queue wait of a process, the processes a `mercato up` data dir started,
waiting until the platform is quiet, and the bytes its logs hold."""

from __future__ import annotations

import os
import time
from pathlib import Path

from _load import proc_cpu_seconds


def proc_wait_seconds(pid: int) -> float | None:
    """Seconds the threads of a process spent runnable but waiting for a CPU (the sum of
    /proc/<pid>/task/*/schedstat's second field): demand the machine could not serve."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total = 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def data_dir_pid(data_dir: str, command: bytes) -> int | None:
    """The process started for this data dir (its environment names the data dir) whose
    command line contains ``command`` (arguments are NUL-separated there)."""
    mark = f"MERCATO_DATA_DIR={os.path.realpath(data_dir)}\0".encode()
    mark2 = f"MERCATO_DATA_DIR={data_dir}\0".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            env = Path(f"/proc/{entry}/environ").read_bytes() + b"\0"
        except OSError:
            continue
        if command in cmd and (mark in env or mark2 in env):
            return int(entry)
    return None


def nats_pid(data_dir: str) -> int | None:
    """The nats-server started for this data dir."""
    return data_dir_pid(data_dir, b"nats-server")


def settle(watch: dict[str, int], quiet: float = 0.15, limit: float = 30.0) -> float:
    """Wait until the platform's processes together use under `quiet` cores (orders whose
    POST timed out at the gateway may still be running their sagas); returns the wait."""
    pids = [pid for name, pid in watch.items() if name != "load"]
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = [proc_cpu_seconds(p) or 0.0 for p in pids]
        time.sleep(0.5)
        used = sum((proc_cpu_seconds(p) or 0.0) - b for p, b in zip(pids, before, strict=True))
        if used / 0.5 < quiet:
            break
    return time.monotonic() - started


def log_bytes(data_dir: str) -> int:
    """Bytes held by the data dir's logs/*.log (to show what logging wrote during a run)."""
    logs = Path(data_dir) / "logs"
    return sum(f.stat().st_size for f in logs.glob("*.log")) if logs.exists() else 0



def runq_wait_seconds(pid: int) -> float | None:
    """Seconds the process's main thread has spent runnable but waiting for a CPU."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None
