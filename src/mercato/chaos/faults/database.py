"""F9: one service's database refuses writes for a while — either another process holds
its SQLite write lock past the busy timeout (a stall), or the disk under it is full.

One fault with two variants, picked per window from the run's seed: both are "the
database refuses writes, reads still work", with the same promise (docs/chaos.md §3):
requests that write answer a 503 naming the cause (``locked`` / ``disk-full``) with
Retry-After, nothing is half-written, background workers back off, and everything
recovers after the heal. A run's ``--faults F9`` thus covers both.

The stall opens the service's file from this process and holds ``BEGIN IMMEDIATE`` (the
one write lock; WAL readers are not blocked). The full disk needs the service's data dir
on a small filesystem of its own: the chaos platform mounts a tmpfs there before
``mercato up`` (``prepare``) and unmounts it after (``release``); the window fills it with
a ballast file, the heal deletes it. Where no mount can be made (not root), the full-disk
variant refuses with that reason rather than pretend.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sqlite3
import subprocess
from pathlib import Path

from mercato.chaos.faults.base import Check, Fault, Target

VICTIMS = ("orders", "inventory", "payments", "shipping", "cart")
VARIANTS = ("stall", "full")
DISK = "256m"  # each victim's tmpfs: a cap, not memory taken until written
BALLAST = ".chaos-ballast"
CHUNK = 1 << 20


def service_dir(data_dir: Path, service: str) -> Path:
    return Path(data_dir) / service


def mount_disks(data_dir: Path) -> list[str]:
    """A tmpfs of its own on each victim's data dir (before any file is made there);
    the reasons it could not be, if any."""
    problems = []
    for service in VICTIMS:
        folder = service_dir(data_dir, service)
        folder.mkdir(parents=True, exist_ok=True)
        if os.path.ismount(folder):
            continue
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700",
                                   "tmpfs", str(folder)], capture_output=True, text=True)
        except OSError as exc:  # no mount(8) here
            problems.append(f"{service}: {exc}")
            continue
        if done.returncode != 0:
            problems.append(f"{service}: {done.stderr.strip() or done.returncode}")
    return problems


def unmount_disks(data_dir: Path) -> None:
    """Undo ``mount_disks`` (lazily: a process that still holds a file there lets go later)."""
    for service in VICTIMS:
        folder = service_dir(data_dir, service)
        if os.path.ismount(folder):
            with contextlib.suppress(OSError):
                subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill(folder: Path) -> int:
    """Write the ballast until the filesystem says it is full; bytes written."""
    written = 0
    chunk = bytes(CHUNK)
    with (folder / BALLAST).open("wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return written
                chunk = bytes(len(chunk) // 2)  # the last bytes too


def _lock(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")  # waits (up to 10 s) for a service's own transaction
    return conn


class DatabaseRefuses(Fault):
    """F9: a service's database stalled (its write lock held) or its disk full."""
    id, what, lengths = "F9", "database stall or disk full", (4.0, 6.0)

    def __init__(self, service: str | None = None, variant: str | None = None) -> None:
        self.service, self.variant = service, variant
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def prepare(cls, data_dir: Path) -> None:
        mount_disks(data_dir)

    @classmethod
    def release(cls, data_dir: Path) -> None:
        unmount_disks(data_dir)

    async def inject(self, target: Target) -> str:
        self.service = self.service or target.rng.choice(VICTIMS)
        self.variant = self.variant or target.rng.choice(VARIANTS)
        folder = service_dir(target.data_dir, self.service)
        if self.variant == "stall":
            self._conn = await asyncio.to_thread(_lock, folder / f"{self.service}.db")
            return f"{self.service}.db write-locked"
        if not folder.is_mount():
            raise RuntimeError(f"disk full needs {folder} on a filesystem of its own; the "
                               "chaos platform could not mount a tmpfs there (root needed)")
        written = await asyncio.to_thread(_fill, folder)
        return f"{self.service}'s disk full (ballast {written / CHUNK:.1f} MiB)"

    async def heal(self, target: Target) -> str:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None
            return f"{self.service}.db lock released"
        with contextlib.suppress(FileNotFoundError):
            (service_dir(target.data_dir, self.service) / BALLAST).unlink()
        return f"{self.service}'s ballast deleted"

    async def checks(self, target: Target) -> list[Check]:
        """After quiescence the service's database is whole and takes writes again."""
        if self.service is None:
            return []
        path = service_dir(target.data_dir, self.service) / f"{self.service}.db"
        verdict = await asyncio.to_thread(_whole_and_writable, path)
        return [Check(f"F9: {self.service}'s database whole and writable after the "
                      f"{self.variant}", verdict == "ok", verdict, count=int(verdict != "ok"),
                      inv="INV-F9")]


def _whole_and_writable(path: Path) -> str:
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        (result,) = conn.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            return f"quick_check: {result}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE chaos_probe (x INTEGER)")  # a write needing new pages
        conn.execute("ROLLBACK")
        return "ok"
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
