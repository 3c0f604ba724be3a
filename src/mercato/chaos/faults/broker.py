"""F4: the broker loses its data — NATS stopped, its JetStream store deleted, started again
empty — and the platform re-drives every event from the outboxes (docs/chaos.md F4). With
NATS as a cluster (``mercato chaos --nats-cluster 3``) every node loses its store: one
node's loss alone is made good by its peers' replicas, which is F2's business.

How it is kept down while the store goes: it is not. The supervisor restarts a dead NATS
after half a second, and a control-socket op to hold it down would be a way to stop the
platform's broker that only this fault needs. Instead the store dir is first *renamed*
aside (one atomic step, while the server runs on its open files), then the server is
killed (SIGKILL), then the renamed dir is deleted: whenever the supervisor restarts it, the
server finds no store, as after a lost disk. What the server wrote in the instant between
the rename and the kill went to the renamed dir, lost with the rest.

The heal waits for NATS running under a new pid, then for every publishing service whose
stream held events before the loss to log ``outbox_redrive``, for its stream to hold
again at least the rows it re-drove, and for every durable consumer there was on it to
exist again (an idle consumer checks for its durable every few seconds).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from datetime import datetime
from pathlib import Path

from mercato.chaos.faults.base import Fault, Target, log_events, until
from mercato.chaos.faults.kills import nats_servers
from mercato.contracts.envelope import stream_for
from mercato.platform.nats_permissions import publishers
from mercato.platform.running import connect, login, running_state

BACK_WAIT = 60.0  # seconds NATS and the re-drive may take after the loss


async def stream_counts(target: Target) -> dict[str, int]:
    """Messages in each publishing service's stream (0 for a stream that is missing)."""
    return {s: n for s, (n, _) in (await stream_state(target)).items()}


async def stream_state(target: Target) -> dict[str, tuple[int, frozenset[str]]]:
    """Per publishing service: the messages in its stream and the durables on it, as the
    operator's ``cli`` user reads them (a stream that is missing: 0 and none)."""
    nc = await connect(running_state(target.data_dir)["nats_url"], login(target.data_dir))
    try:
        js, state = nc.jetstream(timeout=2.0), {}
        for service in publishers():
            stream = stream_for(service)
            try:
                messages = (await js.stream_info(stream)).state.messages
                durables = frozenset(c.config.durable_name for c in
                                     await js.consumers_info(stream) if c.config.durable_name)
            except Exception:
                messages, durables = 0, frozenset()
            state[service] = (messages, durables)
        return state
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


class BrokerDataLoss(Fault):
    """F4 (see the module's docstring)."""
    id, what, lengths = "F4", "NATS store deleted, broker restarted empty", (5.0, 8.0)

    async def inject(self, target: Target) -> str:
        servers = sorted(await nats_servers(target))
        if not servers:
            raise RuntimeError("no nats-server found for this data dir")
        self.before = await stream_state(target)
        self.at = time.time()
        stamp = f"{os.getpid()}-{time.time_ns()}"
        asides = []
        for name, _ in servers:  # every node of a cluster: its replicas would re-fill one
            store = store_dir(target.data_dir, name)
            asides.append(store.rename(store.with_name(f"jetstream.lost-{stamp}")))
        for _, pid in servers:
            os.kill(pid, signal.SIGKILL)
        for aside in asides:
            shutil.rmtree(aside, ignore_errors=True)
        self.pids = {name: pid for name, pid in servers}
        held = sum(n for n, _ in self.before.values())
        nodes = f" ({len(servers)} nodes)" if len(servers) > 1 else ""
        return (f"{', '.join(f'{n} pid {p}' for n, p in servers)}{nodes}: store with "
                f"{held} events deleted")

    async def heal(self, target: Target) -> str:
        async def again() -> list[int] | None:
            now = dict(await nats_servers(target))
            back = [now.get(name) for name, pid in self.pids.items()
                    if now.get(name) not in (None, pid)]
            return back if len(back) == len(self.pids) else None
        pids = await until(again, BACK_WAIT)
        if not pids:
            return f"NATS not running {BACK_WAIT:g}s later"
        pid = ", ".join(map(str, pids))
        expected = [s for s, (n, _) in self.before.items() if n]

        async def redriven() -> dict[str, int] | None:
            rows = _redrives(target, self.at)
            if any(s not in rows for s in expected):
                return None
            now = await stream_state(target)  # re-published, and every durable made again
            return rows if all(now[s][0] >= rows.get(s, 0) and now[s][1] >= durables
                               for s, (_, durables) in self.before.items()) else None
        rows = await until(redriven, BACK_WAIT, every=1.0)
        if rows is None:
            now, done = await stream_state(target), _redrives(target, self.at)
            late = [s for s, (n, durables) in self.before.items()
                    if (n and s not in done) or not now[s][1] >= durables]
            return (f"NATS back as pid {pid}; not re-driven (or its durables not back) in "
                    f"{BACK_WAIT:g}s: {', '.join(late)}")
        return (f"NATS back as pid {pid}; re-driven "
                + ", ".join(f"{s} {rows[s]}" for s in expected))


def store_dir(data_dir: Path, server: str) -> Path:
    """The JetStream store of NATS server ``server`` (``nats``, or node ``nats-<i>`` of a
    cluster: platform/nats_up.py)."""
    if server == "nats":
        return data_dir / "nats" / "jetstream"
    return data_dir / "nats-cluster" / f"node-{server.rpartition('-')[2]}" / "jetstream"


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
