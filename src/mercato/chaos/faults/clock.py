"""F11: one service's wall clock 5 minutes ahead or behind, for the window.

The supervisor restarts the service's instances under libfaketime (the control socket's
``skew`` op, platform/skew.py) and, at the heal, without it. Identity's skewed clock
puts its tokens' iat in the others' future or their exp in the past; another service's
mints service tokens the same way and keeps its own reservation expiries (inventory) and
saga deadlines (orders) by it. The promise (docs/chaos.md §3): no valid token is refused —
the platform runs with ``clock_skew_leeway`` above the skew (``platform_env``) — and every
invariant holds (reservations and sagas still end, nothing held or charged twice).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mercato.chaos.faults.base import Check, Fault, Target, until

VICTIMS = ("identity", "orders", "inventory", "payments", "shipping")
SKEW = 300  # seconds, either way
LEEWAY = 330  # the chaos platform's clock_skew_leeway: above the skew it injects
READY_WAIT = 60.0  # seconds a restarted service may take to be ready again


class SkewClock(Fault):
    """F11: a service's clock ±5 minutes (its instances restarted under libfaketime)."""
    # Long enough to outlast the restart (the inject waits until the skewed instances are
    # ready; the window ends at its scheduled time) and leave the service serving skewed.
    id, what, lengths = "F11", "clock skew ±5 min on a service", (14.0, 18.0)
    platform_env = {"MERCATO_CLOCK_SKEW_LEEWAY": str(LEEWAY)}

    def __init__(self, service: str | None = None, seconds: int | None = None) -> None:
        self.service, self.seconds = service, seconds
        self.pids: list[int] = []

    async def inject(self, target: Target) -> str:
        self.service = self.service or target.rng.choice(VICTIMS)
        self.seconds = self.seconds or target.rng.choice((SKEW, -SKEW))
        rows = await target.control("skew", service=self.service, seconds=self.seconds)
        self.pids = [r["pid"] for r in rows]  # the instances restarted on the skewed clock
        ready = await _ready(target, self.pids)
        return (f"{self.service} clock {self.seconds:+d} s (pids "
                f"{', '.join(map(str, self.pids))}){ready}")

    async def heal(self, target: Target) -> str:
        rows = await target.control("skew", service=self.service, seconds=0)
        self.pids = [r["pid"] for r in rows]  # the instances restarted on the true clock
        ready = await _ready(target, self.pids)
        return f"{self.service} clock true again (pids {', '.join(map(str, self.pids))}){ready}"

    async def checks(self, target: Target) -> list[Check]:
        """No request of the load refused as unauthenticated (a valid token refused), and
        no instance left running on a skewed clock."""
        refused = int(target.load().get("errors", {}).get("401", 0))
        rows = await target.control("list")
        skewed = [r["name"] for r in rows if r.get("running") and r.get("pid")
                  and await asyncio.to_thread(_skewed, r["pid"])]
        return [Check("F11: no valid token refused (401s seen by the load)", refused == 0,
                      f"{refused} refused", count=refused, inv="INV-auth"),
                Check("F11: every instance back on the true clock", not skewed,
                      ", ".join(skewed) or "all", count=len(skewed), inv="INV-F11")]


async def _ready(target: Target, pids: list[int]) -> str:
    """Wait (up to ``READY_WAIT``) until the restarted instances are registered ready, so
    the window is spent with the skewed service serving, not starting; "" or a note."""
    async def all_ready() -> bool:
        rows = await target.control("list")
        return {r["pid"] for r in rows if r.get("ready")} >= set(pids)
    if await until(all_ready, READY_WAIT, every=0.5):
        return ""
    return f", not ready after {READY_WAIT:g}s"


def _skewed(pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False  # gone meanwhile
    return any(v.startswith(b"FAKETIME=") for v in environ)
