"""What every fault of the matrix is built on: the ``Target`` it acts on and the ``Fault``
shape (docs/chaos.md §3).

A fault is a small class with its matrix ``id``, what it does, how long its window lasts
(``window``: shortest and longest seconds, used by the schedule) and an ``inject``/``heal``
pair on a ``Target``. ``inject`` says what it hit ("payments-1 pid 4242"); ``heal`` says
how it ended. A new object is made per window, so what ``inject`` picked is what ``heal``
undoes. A fault that needs the platform started in a certain way says so in
``platform_env`` (the chaos platform merges every registered fault's); one that promises
something ``mercato verify`` does not check returns it from ``checks`` after quiescence,
as checks of the report's own (``Check``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mercato.operations.control_client import request, socket_path


def crash_points(data_dir: Path) -> Path:
    """The chaos platform's crash-point dir (``MERCATO_FAULT_DIR``, chassis/faults.py): a
    fault arms a point by creating ``<service>.<point>`` there."""
    return Path(data_dir) / "crash-points"


@dataclass
class Target:
    """The platform under test: its data dir (control socket, NATS store, databases), a
    seeded random source, the saga step deadline it runs with, its gateway's URL, and
    the load's figures so far (``load()``: the runner's stats snapshot, or {})."""
    data_dir: Path
    rng: random.Random
    step_deadline: float
    url: str = ""
    load: Callable[[], dict] = field(default=lambda: {})

    async def control(self, op: str, **args) -> Any:
        return await request(socket_path(self.data_dir), op, **args)


@dataclass
class Check:
    """One promise checked after quiescence, shaped as ``mercato verify``'s checks are
    (``cli/verify.Check``) so the report shows both alike; ``inv`` is the report's name."""
    name: str
    ok: bool
    figures: str
    count: int = 0
    violations: list = field(default_factory=list)
    inv: str = ""
    number: int = 0


class Fault:
    id: ClassVar[str] = ""
    what: ClassVar[str] = ""
    lengths: ClassVar[tuple[float, float]] = (3.0, 5.0)
    platform_env: ClassVar[dict[str, str]] = {}

    @classmethod
    def window(cls, step_deadline: float) -> tuple[float, float]:
        """Shortest and longest seconds of this fault's window."""
        return cls.lengths

    @classmethod
    def prepare(cls, data_dir: Path) -> None:
        """Set up, before ``mercato up``, what this fault needs of the data dir (F9 mounts
        small filesystems there); nothing by default. Must not raise: a fault that
        cannot be prepared says why when injected."""

    @classmethod
    def release(cls, data_dir: Path) -> None:
        """Undo ``prepare`` once the platform has stopped."""

    async def inject(self, target: Target) -> str:
        raise NotImplementedError

    async def heal(self, target: Target) -> str:
        raise NotImplementedError

    async def checks(self, target: Target) -> list[Check]:
        """What this fault promises beyond ``mercato verify``, checked after quiescence
        (on the object of its last window). None by default."""
        return []


async def until(probe: Callable[[], Awaitable[Any]], seconds: float, every: float = 0.3):
    """``probe()``'s first truthy answer within ``seconds`` (errors count as no), or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if found := await probe():
                return found
        except Exception:
            pass
        await asyncio.sleep(every)
    return None


def log_events(data_dir: Path, name: str | None = None, needle: str = ""):
    """The JSON lines of the platform's service logs (one instance's, with ``name``) that
    contain ``needle`` (an event's name: the others are not parsed)."""
    logs = data_dir / "logs"
    for path in [logs / f"{name}.log"] if name else sorted(logs.glob("*.log")):
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("{") and needle in line:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
