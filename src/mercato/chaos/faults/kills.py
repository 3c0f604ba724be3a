"""F1 and F2: SIGKILL of a process the supervisor restarts — a service instance (its pid
from the control socket's ``list``) or the NATS server (``processes``). The heal waits
until the supervisor has it running again under a new pid."""

from __future__ import annotations

import os
import signal

from mercato.chaos.faults.base import Fault, Target, until
from mercato.platform.nats_up import nats_children

KILLABLE = ("orders", "inventory", "payments", "shipping")  # F1's victims
RESTART_WAIT = 30.0  # seconds a killed process may take to be running again


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
        pid = await until(again, RESTART_WAIT)
        return f"restarted as pid {pid}" if pid else f"not running {RESTART_WAIT:g}s later"


async def nats_servers(target: Target) -> list[tuple[str, int]]:
    """The platform's running NATS servers (the control socket's processes): name, pid."""
    children = await target.control("processes")
    return [(c["name"], c["pid"]) for c in children
            if c["running"] and nats_children([c["name"]])]


async def nats_pids(target: Target) -> list[int]:
    return [pid for _, pid in await nats_servers(target)]


class KillBroker(Fault):
    """F2: SIGKILL of the NATS server, or of one node picked from the seed when NATS runs
    as a cluster (``mercato chaos --nats-cluster 3``); the supervisor restarts it."""
    id, what, lengths = "F2", "SIGKILL of the NATS server (or one cluster node)", (3.0, 5.0)

    async def inject(self, target: Target) -> str:
        servers = sorted(await nats_servers(target))
        if not servers:
            raise RuntimeError("no nats-server found for this data dir")
        self.name, self.pid = target.rng.choice(servers)
        os.kill(self.pid, signal.SIGKILL)
        of = f" (1 of {len(servers)} nodes)" if len(servers) > 1 else ""
        return f"{self.name} pid {self.pid}{of}"

    async def heal(self, target: Target) -> str:
        async def again() -> int | None:
            return next((pid for name, pid in await nats_servers(target)
                         if name == self.name and pid != self.pid), None)
        pid = await until(again, RESTART_WAIT)
        return f"restarted as pid {pid}" if pid else f"not running {RESTART_WAIT:g}s later"
