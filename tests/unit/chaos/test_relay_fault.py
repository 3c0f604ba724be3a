"""F3 (chaos/faults/relay.py) against a stand-in platform: the armed crash point is
taken (its file disappears), the instance comes back under a new pid, and the gap until
its relay started again is measured from its log; the fault's own check fails when that
gap was not longer than the duplicate window."""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
import time
from datetime import UTC, datetime

import pytest

from mercato.chaos.faults import Target, crash_points
from mercato.chaos.faults.relay import POINT, WINDOW, RelayCrash


class Platform(Target):
    """A data dir and a control socket's ``list`` of one service's instance."""

    pid = 100

    async def control(self, op: str, **args):
        assert op == "list"
        return [{"name": f"{s}-1", "service": s, "pid": self.pid, "running": True}
                for s in ("orders", "inventory", "payments", "shipping")]


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


async def crash_and_restart(p: Platform, back_after: float) -> None:
    """What the platform does: the relay reaches the point (the file goes), the process
    dies, the supervisor starts it again and its relay logs ``relay_started``."""
    while not list(crash_points(p.data_dir).glob(f"*.{POINT}")):  # noqa: ASYNC110 - a file
        await asyncio.sleep(0.01)
    marker = next(crash_points(p.data_dir).glob(f"*.{POINT}"))
    service = marker.name.split(".")[0]
    died = time.time()
    marker.unlink()
    p.pid = 101
    logs = p.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    line = {"event": "relay_started", "process": f"{service}-1",
            "timestamp": stamp(died + back_after)}
    with (logs / f"{service}-1.log").open("a") as log:
        log.write("Started server process\n" + json.dumps(line) + "\n")


def skewed_start_logged(p: Platform) -> None:
    """Each instance's log already holds a ``relay_started`` of a clock 300 s ahead (F11
    skewed it earlier): later than the kill by its stamp, yet not the restart."""
    logs = p.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    for service in ("orders", "inventory", "payments", "shipping"):
        line = {"event": "relay_started", "process": f"{service}-1",
                "timestamp": stamp(time.time() + 300)}
        (logs / f"{service}-1.log").write_text(json.dumps(line) + "\n")


@pytest.mark.parametrize(("back_after", "ok", "skewed_before"), [
    (WINDOW + 2.0, True, False), (WINDOW / 2, False, False), (WINDOW + 2.0, True, True)])
async def test_the_gap_after_the_kill_is_measured_and_checked_against_the_window(
        tmp_path, back_after, ok, skewed_before):
    p = Platform(tmp_path, random.Random(1), 3.0)
    if skewed_before:
        skewed_start_logged(p)
    for service in ("orders", "inventory", "payments", "shipping"):
        (tmp_path / service).mkdir()
        with sqlite3.connect(tmp_path / service / f"{service}.db") as db:
            db.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, id TEXT,"
                       " published_at TEXT)")
            db.execute("INSERT INTO outbox (id) VALUES ('e1'), ('e2')")
    fault = RelayCrash()
    platform = asyncio.create_task(crash_and_restart(p, back_after))
    injected = await fault.inject(p)
    await platform
    assert "relay killed, 2 rows published unmarked" in injected
    healed = await fault.heal(p)
    gap = float(re.search(r"relay back ([\d.]+)s after the kill", healed).group(1))
    assert gap == pytest.approx(back_after, abs=0.5)  # the kill is seen by polling
    (check,) = await fault.checks(p)
    assert check.ok is ok and check.count == (0 if ok else 1)
    assert "2 events unmarked" in check.figures
    assert await fault.checks(p) == []  # read once per platform
