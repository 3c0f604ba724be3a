"""py-spy helpers shared by the benchmarks: finding py-spy, a process's CPU and run-queue
time from /proc, and naming where a sampled frame's code lives."""

from __future__ import annotations

import collections
import os
import shutil
import sys
from pathlib import Path


def py_spy_executable() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def py_spy_or_skip(say) -> str | None:
    """py-spy for --py-spy, or None once `say` has told that the profile is skipped: a
    missing profiler must not cost the tables of a long run."""
    exe = py_spy_executable()
    if exe is None:
        say("--py-spy: py-spy not found (pip install py-spy); skipping the profile")
    return exe


def user_system_seconds(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU seconds of a process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, IndexError, ValueError):
        return None


def run_wait_seconds(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process's main thread."""
    try:
        ran, waited, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
        return int(ran) / 1e9, int(waited) / 1e9
    except (OSError, ValueError):
        return None


NATIVE_PACKAGES = ("uvloop", "aiohttp", "multidict", "propcache", "yarl", "httptools",
                   "pydantic_core", "frozenlist")


def _area(file: str) -> str:
    """Where a frame's code lives: a package, mercato.<part>, the stdlib, or native code."""
    parts = Path(file).parts
    if not file.endswith(".py"):
        if "libc.so" in file or file == "[vdso]":
            return "libc/syscalls"
        if "libpython" in file or "Python-3" in file or "/include/python3" in file:
            return "CPython runtime"
        for marker, area in (("libuv", "libuv"), ("llhttp", "llhttp")):
            if marker in file:
                return f"{area} (C)"
        for pkg in NATIVE_PACKAGES:
            if pkg in parts:
                return f"{pkg} (C)"
        return file if file.startswith("<") else "other native"
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1:]
        return rest[0].removesuffix(".py") if rest else "?"
    if "mercato" in parts:
        rest = parts[len(parts) - 1 - parts[::-1].index("mercato"):]
        return ".".join(p.removesuffix(".py") for p in rest[:2])
    name = parts[-2] if len(parts) >= 2 and not parts[-2].startswith(("lib", "python")) else None
    return f"stdlib:{name or Path(file).stem}"


def _frame_name(frame: dict) -> str:
    file = frame.get("file") or "?"
    short = "/".join(Path(file).parts[-2:]) if file.startswith("/") else file
    return f"{frame.get('name', '?')} ({short})"


PARKED = ("write", "writev", "send", "sendmsg", "read", "recv", "recvmsg", "epoll_wait",
          "epoll_pwait")


def count_samples(frames: list[dict], profiles: list[dict], buckets):
    """Tally py-spy speedscope samples of `profiles`. Samples whose innermost frame is a
    libc call in PARKED are counted apart (`parked`); of the others (`running`): the
    innermost Python function (`own`), every Python function on the stack (`incl`), where
    the innermost frame's code lives (`area_own`) and the buckets (label, match(name, file))
    any frame of the stack matches (`hits`)."""
    own: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    area_own: collections.Counter = collections.Counter()
    hits: collections.Counter = collections.Counter()
    parked: collections.Counter = collections.Counter()
    total = running = 0
    for prof in profiles:
        for stack in prof["samples"]:
            if not stack:
                continue
            total += 1
            leaf = frames[stack[-1]]
            if "libc.so" in (leaf.get("file") or "") and leaf.get("name") in PARKED:
                parked[leaf["name"]] += 1
                continue
            running += 1
            area_own[_area(leaf.get("file") or "?")] += 1
            python = [frames[i] for i in stack if (frames[i].get("file") or "").endswith(".py")]
            if python:
                own[_frame_name(python[-1])] += 1
            for name in {_frame_name(f) for f in python}:
                incl[name] += 1
            nf = [(frames[i].get("name", ""), frames[i].get("file") or "") for i in stack]
            for label, match in buckets:
                if any(match(n, f) for n, f in nf):
                    hits[label] += 1
    return total, running, own, incl, area_own, hits, parked


def print_top_inclusive(incl: collections.Counter, of: int, top: int, skip_above: float,
                        indent: str) -> None:
    """The top Python functions by inclusive share of `of` samples, leaving out the event
    loop's own frames and those above `skip_above` (the command line, the server)."""
    shown = 0
    for name, w in incl.most_common():
        if w / of > skip_above or name.startswith(("Runner.", "run (", "BaseEventLoop.")):
            continue
        print(f"{indent}{w / of:6.1%}  {name}")
        shown += 1
        if shown == top:
            break
