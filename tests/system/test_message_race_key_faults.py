"""F7, F10 and F12 of the fault matrix (docs/chaos.md §3), short, on a chaos platform of
their own (``mercato up --fault-proxies``, orchestration): a last-unit race with an
inventory instance SIGKILLed (F10); identity's signing key rotated twice while a customer
keeps calling authenticated routes (F12), and meanwhile captured events re-sent to their
consumers — duplicated, reversed, late (F7). Then every invariant of ``mercato verify``
holds, and each fault's own promise: never oversold, no valid token refused, every
re-sent copy consumed without effect."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import aiohttp
import pytest

from mercato.chaos.faults import FAULTS, Target
from mercato.chaos.faults.races import LastUnitRace
from mercato.chaos.platform import ChaosPlatform
from mercato.chaos.run import _check

STEP_DEADLINE = 3.0


@pytest.fixture
async def chaos(tmp_path):
    platform = ChaosPlatform(tmp_path, "orchestration", STEP_DEADLINE)
    try:
        await platform.start()
        yield platform
    finally:
        assert await asyncio.to_thread(platform.stop) == 0, platform.output.read_text()


async def calls_until(stop: asyncio.Event, url: str, statuses: Counter) -> None:
    """A customer calling an authenticated route over and over with one token (the F12
    'load'): every status counted."""
    async with aiohttp.ClientSession(url) as http:
        token = None
        for _ in range(30):  # identity hashes passwords: on a busy machine, a timeout
            creds = {"email": f"caller-{random.getrandbits(40):x}@example.com",
                     "password": "caller-pass-1"}
            async with http.post("/api/v1/identity/users", json=creds | {"name": "C"}) as r:
                if r.status == 201:
                    async with http.post("/api/v1/identity/token", json=creds) as login:
                        token = (await login.json()).get("access_token")
            if token:
                break
            await asyncio.sleep(1.0)
        auth = {"Authorization": f"Bearer {token}"}
        while not stop.is_set():
            async with http.get("/api/v1/cart", headers=auth) as r:
                statuses[str(r.status)] += 1
            await asyncio.sleep(0.05)


@pytest.mark.timeout(240)
async def test_duplicates_a_last_unit_race_and_key_rotations_keep_every_promise(chaos,
                                                                              monkeypatch):
    monkeypatch.setattr(LastUnitRace, "BUYERS", 8)  # enough to race; fewer to register
    statuses: Counter = Counter()
    target = Target(chaos.data_dir, random.Random(15), STEP_DEADLINE, chaos.url,
                    lambda: {"errors": {k: n for k, n in statuses.items() if k != "200"}})
    race, rotation, resend = FAULTS["F10"](), FAULTS["F12"](), FAULTS["F7"]()

    assert "killed inventory-1" in await race.inject(target)
    (raced,) = LastUnitRace.races[chaos.data_dir]
    assert raced.stock in (1, 2) and len(raced.orders) > raced.stock, raced
    assert "restarted as pid" in await race.heal(target)

    stop = asyncio.Event()
    caller = asyncio.create_task(calls_until(stop, chaos.url, statuses))
    assert "rotated to kid" in await rotation.inject(target)
    resent = await resend.inject(target)  # meanwhile: the race's events, once more
    assert " 0 copies" not in resent, resent
    assert "copies" in await resend.heal(target)
    assert "rotated to kid" in await rotation.heal(target)
    stop.set()
    await caller
    assert statuses["200"] > 0

    verified, _ = await _check(chaos)
    assert all(c.ok for c in verified), [c for c in verified if not c.ok]
    own = [c for fault in (race, rotation, resend) for c in await fault.checks(target)]
    assert [c.inv for c in own] == ["INV-stock", "INV-auth", "INV-events"]
    assert all(c.ok for c in own), own
