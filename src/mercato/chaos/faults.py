"""The faults of the matrix (docs/chaos.md §3) that ``mercato chaos`` can inject today.

Each is a small class with its matrix ``id``, how long its window lasts (``lengths``:
shortest and longest seconds, used by the schedule) and an ``inject``/``heal`` pair on a
``Target`` — the running platform's data dir and control socket. ``inject`` says what it
hit ("payments-1 pid 4242", "to-payments-*"); ``heal`` says how it ended. A new object is
made per window, so what ``inject`` picked is what ``heal`` undoes.

F1 and F2 SIGKILL a process the supervisor restarts (its pid from the control socket:
``list`` for a service instance, ``processes`` for the broker). F5 and F6 set toxics on
the fault proxies of ``mercato up --fault-proxies`` and heal them.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from mercato.operations.control_client import request, socket_path
from mercato.platform.nats_up import nats_children

KILLABLE = ("orders", "inventory", "payments", "shipping")  # F1's victims
PARTICIPANTS = ("inventory", "payments", "shipping")  # the services orders calls (F5)
RESTART_WAIT = 30.0  # seconds a killed process may take to be running again


@dataclass
class Target:
    """The platform under test: its data dir (control socket, NATS store), a seeded
    random source and the saga step deadline it runs with."""
    data_dir: Path
    rng: random.Random
    step_deadline: float

    async def control(self, op: str, **args) -> object:
        return await request(socket_path(self.data_dir), op, **args)


class Fault:
    id = ""
    what = ""
    lengths = (3.0, 5.0)

    async def inject(self, target: Target) -> str:
        raise NotImplementedError

    async def heal(self, target: Target) -> str:
        raise NotImplementedError


class KillService(Fault):
    """F1: SIGKILL of a random instance of a saga service; the supervisor restarts it."""
    id, what, lengths = "F1", "SIGKILL of a service instance", (2.0, 4.0)

    async def inject(self, target: Target) -> str:
        rows = [r for r in await target.control("list")
                if r["service"] in KILLABLE and r.get("running") and r.get("pid")]
        if not rows:
            raise RuntimeError("no running instance of " + ", ".join(KILLABLE))
        victim = target.rng.choice(sorted(rows, key=lambda r: r["name"]))
        self.name, self.pid = victim["name"], victim["pid"]
        os.kill(self.pid, signal.SIGKILL)
        return f"{self.name} pid {self.pid}"

    async def heal(self, target: Target) -> str:
        async def again() -> int | None:
            rows = await target.control("list")
            return next((r["pid"] for r in rows if r["name"] == self.name and
                         r.get("running") and r.get("pid") not in (None, self.pid)), None)
        pid = await _until(again, RESTART_WAIT)
        return f"restarted as pid {pid}" if pid else f"not running {RESTART_WAIT:g}s later"


async def nats_pids(target: Target) -> list[int]:
    """The pids of the platform's running NATS servers (the control socket's processes)."""
    children = await target.control("processes")
    return [c["pid"] for c in children if c["running"] and nats_children([c["name"]])]


class KillBroker(Fault):
    """F2: SIGKILL of the NATS server (single node); the supervisor restarts it."""
    id, what, lengths = "F2", "SIGKILL of the NATS server", (3.0, 5.0)

    async def inject(self, target: Target) -> str:
        pids = await nats_pids(target)
        if not pids:
            raise RuntimeError("no nats-server found for this data dir")
        self.pid = pids[0]
        os.kill(self.pid, signal.SIGKILL)
        return f"nats-server pid {self.pid}"

    async def heal(self, target: Target) -> str:
        async def again() -> int | None:
            return next((p for p in await nats_pids(target) if p != self.pid), None)
        pid = await _until(again, RESTART_WAIT)
        return f"restarted as pid {pid}" if pid else f"not running {RESTART_WAIT:g}s later"


class SlowParticipant(Fault):
    """F5: latency with jitter both ways between orders (and everyone) and one
    participant's instances; half the time connections are also reset after some bytes."""
    id, what, lengths = "F5", "latency, jitter and resets to a participant", (4.0, 6.0)

    async def inject(self, target: Target) -> str:
        rng = target.rng
        self.pattern = f"to-{rng.choice(PARTICIPANTS)}-*"
        slow = {"latency_ms": rng.randint(100, 400), "jitter_ms": rng.randint(20, 150)}
        back = dict(slow)
        if rng.random() < 0.5:
            back["reset_after"] = rng.randint(20_000, 80_000)
        await target.control("fault", proxy=self.pattern,
                             set={"upstream": slow, "downstream": back})
        extra = f", reset after {back['reset_after']} B" if "reset_after" in back else ""
        return f"{self.pattern} {slow['latency_ms']}±{slow['jitter_ms']} ms{extra}"

    async def heal(self, target: Target) -> str:
        healed = await target.control("heal", proxy=self.pattern)
        return f"healed {len(healed)} proxies"


class PartitionPayments(Fault):
    """F6: orders (and everyone) cut off from payments for longer than the step deadline:
    every byte to and from ``to-payments-*`` thrown away."""
    id, what = "F6", "partition from payments past the step deadline"
    pattern = "to-payments-*"

    async def inject(self, target: Target) -> str:
        hole = {"blackhole": True}
        await target.control("fault", proxy=self.pattern,
                             set={"upstream": hole, "downstream": hole})
        return f"{self.pattern} blackhole"

    async def heal(self, target: Target) -> str:
        healed = await target.control("heal", proxy=self.pattern)
        return f"healed {len(healed)} proxies"


FAULTS: dict[str, type[Fault]] = {f.id: f for f in
                                  (KillService, KillBroker, SlowParticipant, PartitionPayments)}


def lengths(step_deadline: float) -> dict[str, tuple[float, float]]:
    """Each available fault's window (shortest, longest seconds): F6 lasts 2-4 seconds
    past the step deadline, so the saga does give up the step."""
    found = {fid: cls.lengths for fid, cls in FAULTS.items()}
    found["F6"] = (step_deadline + 2.0, step_deadline + 4.0)
    return found


async def _until(probe, seconds: float, every: float = 0.3):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if found := await probe():
                return found
        except Exception:
            pass
        await asyncio.sleep(every)
    return None
