"""py-spy helpers shared by the benchmarks: finding py-spy, a process's CPU and run-queue
time from /proc, and naming where a sampled frame's code lives."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def py_spy_executable() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


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
