"""F3: a relay killed between publishing and marking its rows sent, restarted after the
broker's duplicate window — so the broker stores the re-publish again, and only the
consumers' inboxes stand between it and a second effect.

The crash point ``relay.before_mark_sent`` (chassis/faults.py) of one publishing service
is armed through the platform's crash-point dir; the first of its instances whose relay
gets that far dies by SIGKILL (the file then disappears). The chaos platform runs with a
1 s duplicate window (``platform_env``), shorter than any restart takes: the supervisor
waits 0.5 s before respawning, and a service then takes seconds to start. The gap is
measured, not assumed — from the moment the marker disappeared to the restarted
process's ``relay_started`` log line (its first publish comes after; the first such line
after those logged before the kill) — and ``checks``
says whether every one was longer than the window, and how many deliveries of the
events left unmarked the inboxes dropped (``event_duplicate_dropped`` log lines).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from mercato.chaos.faults.base import Check, Fault, Target, crash_points, log_events, until

PUBLISHERS = ("orders", "inventory", "payments", "shipping")
POINT = "relay.before_mark_sent"
WINDOW = 1.0  # the chaos platform's duplicate window, seconds
REACH_WAIT = 20.0  # seconds the relay may take to reach the crash point under load
START_WAIT = 90.0  # seconds the killed instance may take to start again (a loaded machine)
UNMARKED = 200  # at most this many unmarked event ids are followed per injection

_RUNS: dict[Path, list[dict]] = {}  # per platform (data dir): its injections, for checks


class RelayCrash(Fault):
    """F3 (see the module's docstring)."""
    id, what, lengths = "F3", "relay killed after publishing, back after the window", (4.0, 8.0)
    platform_env = {"MERCATO_NATS_DUPLICATE_WINDOW": f"{WINDOW:g}"}

    async def inject(self, target: Target) -> str:
        self.service = target.rng.choice(PUBLISHERS)
        self.pids = {r["name"]: r["pid"] for r in await target.control("list")
                     if r["service"] == self.service}
        # the restarted relay's line is the first after those logged before arming (a
        # timestamp compare would take an earlier line of a skewed clock, F11's +300 s)
        self.logged = {name: len(_relay_starts(target.data_dir, name)) for name in self.pids}
        marker = crash_points(target.data_dir) / f"{self.service}.{POINT}"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        if not await until(lambda: _gone(marker), REACH_WAIT, every=0.02):
            marker.unlink(missing_ok=True)
            self.killed_at = None
            return f"{self.service}: its relay did not publish within {REACH_WAIT:g}s"
        self.killed_at = time.time()
        self.unmarked = _unmarked(target.data_dir, self.service)
        return f"{self.service} relay killed, {len(self.unmarked)} rows published unmarked"

    async def heal(self, target: Target) -> str:
        if self.killed_at is None:
            return "not injected"

        async def restarted() -> dict | None:
            rows = await target.control("list")
            return next((r for r in rows if r["service"] == self.service and r.get("running")
                         and r.get("pid") not in (None, self.pids.get(r["name"]))), None)

        async def relay_back() -> float | None:
            starts = _relay_starts(target.data_dir, row["name"])
            return starts[self.logged.get(row["name"], 0)] \
                if len(starts) > self.logged.get(row["name"], 0) else None
        row = await until(restarted, START_WAIT)
        started = row and await until(relay_back, START_WAIT)
        run = {"service": self.service, "name": row and row["name"],
               "gap": started - self.killed_at if started else None,
               "unmarked": self.unmarked, "killed_at": self.killed_at}
        _RUNS.setdefault(target.data_dir, []).append(run)
        if not started:
            return f"{self.service} not started again {START_WAIT:g}s later"
        return f"{run['name']} relay back {run['gap']:.1f}s after the kill"

    async def checks(self, target: Target) -> list[Check]:
        runs = _RUNS.pop(target.data_dir, [])
        if not runs:
            return []
        gaps = [r["gap"] for r in runs]
        short = [r for r in runs if r["gap"] is None or r["gap"] <= WINDOW]
        ids = {i for r in runs for i in r["unmarked"]}
        dropped = _dropped(target.data_dir, ids)
        figures = (f"{len(runs)} relay kills, back after "
                   f"{', '.join('-' if g is None else f'{g:.1f}s' for g in gaps)} "
                   f"(window {WINDOW:g}s); {len(ids)} events unmarked at the kills, "
                   f"{sum(dropped.values())} duplicate deliveries of "
                   f"{len(dropped)} of them dropped by inboxes")
        return [Check("F3 re-publish after the duplicate window, dropped by the inboxes",
                      ok=not short, figures=figures, count=len(short),
                      violations=[f"{r['service']}: back after {r['gap']}" for r in short],
                      inv="INV-once")]


async def _gone(marker: Path) -> bool:
    return not marker.exists()  # noqa: ASYNC240 - one stat of a local file


def _unmarked(data_dir: Path, service: str) -> list[str]:
    """The ids of the rows the dead relay published but did not mark (and any committed
    since): read from the service's SQLite outbox (the chaos platform's database)."""
    path = data_dir / service / f"{service}.db"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT id FROM outbox WHERE published_at IS NULL ORDER BY seq"
                              " LIMIT ?", (UNMARKED,)).fetchall()
    except sqlite3.Error:
        return []
    return [r[0] for r in rows]


def _relay_starts(data_dir: Path, name: str) -> list[float]:
    """When instance ``name``'s relay logged ``relay_started`` (epoch s, by the clock of
    the process that logged it), in the log's order: its first publish follows at once,
    so a re-publish comes no earlier."""
    starts = []
    for event in log_events(data_dir, name, needle="relay_started"):
        if event.get("event") == "relay_started":
            at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
            starts.append(at.replace(tzinfo=at.tzinfo or UTC).timestamp())
    return starts


def _dropped(data_dir: Path, ids: set[str]) -> dict[str, int]:
    """Per event id of ``ids``: the duplicate deliveries inboxes dropped (logged)."""
    found: dict[str, int] = {}
    for event in log_events(data_dir, needle="event_duplicate_dropped"):
        if event.get("event") == "event_duplicate_dropped" and event.get("event_id") in ids:
            found[event["event_id"]] = found.get(event["event_id"], 0) + 1
    return found
