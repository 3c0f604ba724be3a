"""F4: the broker loses its data — NATS stopped, its JetStream store deleted, started again
empty — and the platform re-drives every event from the outboxes (docs/chaos.md F4).

How it is kept down while the store goes: it is not. The supervisor restarts a dead NATS
after half a second, and a control-socket op to hold it down would be a way to stop the
platform's broker that only this fault needs. Instead the store dir is first *renamed*
aside (one atomic step, while the server runs on its open files), then the server is
killed (SIGKILL), then the renamed dir is deleted: whenever the supervisor restarts it, the
server finds no store, as after a lost disk. What the server wrote in the instant between
the rename and the kill went to the renamed dir, lost with the rest.

The heal waits for NATS running under a new pid, then for every publishing service whose
stream held events before the loss to log ``outbox_redrive`` and for its stream to hold
again at least the rows it re-drove.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from datetime import datetime

from mercato.chaos.faults.base import Fault, Target, log_events, until
from mercato.chaos.faults.kills import nats_pids
from mercato.contracts.envelope import stream_for
from mercato.platform.nats_permissions import publishers
from mercato.platform.running import connect, login, running_state

BACK_WAIT = 60.0  # seconds NATS and the re-drive may take after the loss


async def stream_counts(target: Target) -> dict[str, int]:
    """Messages in each publishing service's stream, as the operator's ``cli`` user
    reads them (a stream that is missing counts 0)."""
    nc = await connect(running_state(target.data_dir)["nats_url"], login(target.data_dir))
    try:
        js, counts = nc.jetstream(timeout=2.0), {}
        for service in publishers():
            try:
                counts[service] = (await js.stream_info(stream_for(service))).state.messages
            except Exception:
                counts[service] = 0
        return counts
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


class BrokerDataLoss(Fault):
    """F4 (see the module's docstring)."""
    id, what, lengths = "F4", "NATS store deleted, broker restarted empty", (5.0, 8.0)

    async def inject(self, target: Target) -> str:
        pids = await nats_pids(target)
        if not pids:
            raise RuntimeError("no nats-server found for this data dir")
        self.before = await stream_counts(target)
        store = target.data_dir / "nats" / "jetstream"
        aside = store.with_name(f"jetstream.lost-{os.getpid()}-{time.time_ns()}")
        self.pid, self.at = pids[0], time.time()
        store.rename(aside)
        os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(aside, ignore_errors=True)
        held = sum(self.before.values())
        return f"nats-server pid {self.pid}: store with {held} events deleted"

    async def heal(self, target: Target) -> str:
        async def again() -> int | None:
            return next((p for p in await nats_pids(target) if p != self.pid), None)
        pid = await until(again, BACK_WAIT)
        if not pid:
            return f"NATS not running {BACK_WAIT:g}s later"
        expected = [s for s, n in self.before.items() if n]

        async def redriven() -> dict[str, int] | None:
            rows = _redrives(target, self.at)
            if any(s not in rows for s in expected):
                return None
            counts = await stream_counts(target)
            return rows if all(counts[s] >= rows[s] for s in expected) else None
        rows = await until(redriven, BACK_WAIT, every=1.0)
        if rows is None:
            late = [s for s in expected if s not in _redrives(target, self.at)]
            return f"NATS back as pid {pid}; not re-driven in {BACK_WAIT:g}s: {', '.join(late)}"
        return (f"NATS back as pid {pid}; re-driven "
                + ", ".join(f"{s} {rows[s]}" for s in expected))


def _redrives(target: Target, after: float) -> dict[str, int]:
    """Per service: the rows its relays re-drove (``outbox_redrive`` logged after
    ``after``, epoch seconds); the most any of its instances did (they share one
    outbox, so a second one finds what the first marked already)."""
    found: dict[str, int] = {}
    for event in log_events(target.data_dir, needle="outbox_redrive"):
        if event.get("event") != "outbox_redrive":
            continue
        at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
        service = event.get("process", "").rpartition("-")[0]
        if at >= after and service:
            found[service] = max(found.get(service, 0), int(event.get("rows", 0)))
    return found
