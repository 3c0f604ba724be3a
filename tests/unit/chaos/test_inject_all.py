"""The run's injection loop when a heal outlasts its window (a restart on a busy
machine): a fault's first window still comes, late and whole; a later window of a fault
already injected that would be over by then is left out and reported, not squeezed in."""

from __future__ import annotations

import asyncio
import time

from mercato.chaos import run
from mercato.chaos.faults import Fault
from mercato.chaos.schedule import Window


class SlowHeal(Fault):
    id, what = "FA", "a fault whose heal takes half a second"

    async def inject(self, target) -> str:
        return "a"

    async def heal(self, target) -> str:
        await asyncio.sleep(0.5)
        return "healed slowly"


class QuickHeal(Fault):
    id, what = "FB", "a fault healed at once"

    async def inject(self, target) -> str:
        return "b"

    async def heal(self, target) -> str:
        return "healed"


async def test_a_late_schedule_keeps_first_windows_and_leaves_out_late_repeats(monkeypatch):
    monkeypatch.setattr(run, "FAULTS", {"FA": SlowHeal, "FB": QuickHeal})
    schedule = [Window("FA", 0.0, 0.1), Window("FB", 0.2, 0.3), Window("FA", 0.4, 0.5),
                Window("FB", 0.6, 0.65)]
    t0 = time.monotonic()
    injected, last, said = [], {}, []
    await run._inject_all(schedule, None, injected, last, lambda: time.monotonic() - t0,
                          "test", said.append)
    assert [(f["id"], f.get("target"), "skipped" in f) for f in injected] == [
        ("FA", "a", False), ("FB", "b", False), ("FA", None, True), ("FB", None, True)]
    fb = injected[1]
    assert fb["start"] >= 0.5  # after FA's slow heal, not at 0.2
    assert fb["end"] - fb["start"] >= 0.09  # its whole length, not what was left of it
    assert "ran" in injected[2]["skipped"] and any("left out" in line for line in said)
    assert set(last) == {"FA", "FB"}
