"""Reservations expire: past ``expires_at`` a reservation still held gives its stock back
(status ``expired``, StockReleased through the outbox, in one transaction), whether the
sweeper finds it or a late commit does; a commit then is 409 ``reservation-expired`` and a
release is a harmless repeat. The clock is a ManualClock: time moves only when told."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from mercato.chassis.messaging import Outbox
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.settings import load_settings
from mercato.contracts.envelope import Envelope
from mercato.services.inventory import bootstrap
from mercato.services.inventory.domain import OutOfStock, ReservationConflict
from mercato.services.inventory.events import event_id
from mercato.services.inventory.settings import InventorySettings
from mercato.services.inventory.sweeper import ReservationSweeper
from tests.support.service_http import bearer, client, service_app
from tests.unit.inventory.conftest import (
    KNOWN,
    OTHER,
    answer,
    assert_stock_conserved,
    envelopes,
    in_memory,
)

TTL = 900  # the default: 15 minutes


async def levels(inventory, product_id):
    s = await inventory.get_stock(product_id)
    return (s.on_hand, s.available, s.reserved, s.sold)


async def status_of(inventory, reservation_id) -> str:
    return (await inventory.reservations.get(reservation_id)).status.value


async def events(inventory) -> list[Envelope]:
    return [e for e in await envelopes(inventory) if e.type != "StockAdjusted"]


def released_payload(reservation_id, order_id, items, reason) -> dict:
    return {"reservation_id": reservation_id, "order_id": order_id, "items": items,
            "reason": reason}


@pytest.fixture
async def stocked(inventory):
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 4, "initial", actor="a")
    return inventory


@pytest.fixture
def sweeper(stocked):
    return ReservationSweeper(stocked, interval=0.01)


async def test_a_reservation_is_held_until_its_deadline_and_released_at_it(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3), (OTHER, 1)])
    clock.advance(TTL - 0.001)
    assert await sweeper.sweep() == 0
    assert await levels(stocked, KNOWN) == (10, 7, 3, 0)
    assert await status_of(stocked, "r1") == "reserved"
    clock.advance(0.001)  # exactly expires_at
    assert await sweeper.sweep() == 1
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert await levels(stocked, OTHER) == (4, 4, 0, 0)
    assert await status_of(stocked, "r1") == "expired"
    await assert_stock_conserved(stocked)


async def test_an_expiry_publishes_one_stock_released_named_by_the_expiry(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL + 60)
    await sweeper.sweep()
    await sweeper.sweep()  # nothing left to expire: no second event
    assert [(e.type, e.id, e.payload) for e in await events(stocked)] == [
        ("StockReserved", event_id("r1", "reserved"),
         {"reservation_id": "r1", "order_id": "o1",
          "items": [{"product_id": KNOWN, "quantity": 3}]}),
        ("StockReleased", event_id("r1", "expired"),
         released_payload("r1", "o1", [{"product_id": KNOWN, "quantity": 3}], "expired")),
    ]


async def test_sub_second_deadlines_expire_in_time_order(stocked, sweeper, clock):
    """expires_at is ISO text with an optional fraction; the sweep must still compare it
    as time (".5Z" sorts before "Z" as text)."""
    clock.now = clock.now.replace(microsecond=500_000)
    await stocked.reserve("late", "o1", [(KNOWN, 1)])  # expires at hh:15:00.5
    clock.now = clock.now.replace(microsecond=0)
    await stocked.reserve("early", "o2", [(KNOWN, 1)])  # expires at hh:15:00
    clock.advance(TTL)
    assert await sweeper.sweep() == 1
    assert (await status_of(stocked, "early"), await status_of(stocked, "late")) == (
        "expired", "reserved")
    clock.advance(0.5)
    assert await sweeper.sweep() == 1
    assert await status_of(stocked, "late") == "expired"


async def test_only_reservations_still_held_expire(stocked, sweeper, clock):
    await stocked.reserve("committed", "o1", [(KNOWN, 2)])
    await stocked.commit("committed")
    await stocked.reserve("released", "o2", [(KNOWN, 2)])
    await stocked.release("released")
    await stocked.reserve("returned", "o3", [(KNOWN, 1)])
    await stocked.commit("returned")
    await stocked.return_goods("returned")
    with pytest.raises(OutOfStock):
        await stocked.reserve("rejected", "o4", [(OTHER, 50)])
    await stocked.release("tombstone")
    await stocked.reserve("held", "o5", [(OTHER, 2)])
    before = await events(stocked)
    clock.advance(TTL * 10)
    assert await sweeper.sweep() == 1
    statuses = {r: await status_of(stocked, r) for r in
                ("committed", "released", "returned", "rejected", "tombstone", "held")}
    assert statuses == {"committed": "committed", "released": "released",
                        "returned": "returned", "rejected": "rejected",
                        "tombstone": "released", "held": "expired"}
    assert await levels(stocked, KNOWN) == (10, 8, 0, 2)
    assert await levels(stocked, OTHER) == (4, 4, 0, 0)
    assert [e.id for e in await events(stocked)] == [
        *[e.id for e in before], event_id("held", "expired")]


async def test_a_commit_of_an_expired_reservation_is_409_reservation_expired(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL)
    await sweeper.sweep()
    for _ in range(2):
        with pytest.raises(ReservationConflict) as caught:
            await stocked.commit("r1")
        assert (answer(caught.value).status, caught.value.kind) == (409, "reservation-expired")
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert len(await events(stocked)) == 2  # reserved, released: the refusals say nothing


async def test_a_commit_after_the_deadline_expires_the_reservation_before_the_sweeper(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL + 1)
    with pytest.raises(ReservationConflict) as caught:
        await stocked.commit("r1")
    assert (answer(caught.value).status, caught.value.kind) == (409, "reservation-expired")
    # The expiry is kept although the commit was refused: stock back, event out.
    assert await status_of(stocked, "r1") == "expired"
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert [e.id for e in await events(stocked)][-1] == event_id("r1", "expired")
    assert await sweeper.sweep() == 0
    assert len(await events(stocked)) == 2


async def test_a_commit_just_before_the_deadline_sells_and_the_sweeper_leaves_it(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL - 1)
    assert (await stocked.commit("r1")).status.value == "committed"
    clock.advance(3600)
    assert await sweeper.sweep() == 0
    assert await levels(stocked, KNOWN) == (10, 7, 0, 3)


async def test_a_release_of_an_expired_reservation_is_a_harmless_repeat(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL)
    await stocked.reserve("r3", "o3", [(KNOWN, 4)])  # not due yet: keeps units reserved
    await sweeper.sweep()
    for _ in range(2):
        released = await stocked.release("r1")
        assert released.status.value == "expired"
    assert await levels(stocked, KNOWN) == (10, 6, 4, 0)
    assert [e.id for e in await events(stocked)].count(event_id("r1", "expired")) == 1
    assert event_id("r1", "released") not in [e.id for e in await events(stocked)]


async def test_the_same_reserve_call_after_expiry_is_refused_and_takes_nothing(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL)
    await sweeper.sweep()
    with pytest.raises(ReservationConflict) as caught:
        await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    assert (answer(caught.value).status, caught.value.kind) == (409, "reservation-expired")
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_an_expired_reservation_has_nothing_to_return(stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL)
    await sweeper.sweep()
    with pytest.raises(ReservationConflict) as caught:
        await stocked.return_goods("r1")
    assert (answer(caught.value).status, caught.value.kind) == (409, "not-committed")
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)


async def test_one_pass_expires_every_due_reservation_across_batches(stocked, clock):
    for n in range(5):
        await stocked.reserve(f"r{n}", f"o{n}", [(KNOWN, 1)])
    sweeper = ReservationSweeper(stocked, batch=2)
    clock.advance(TTL)
    assert await sweeper.sweep() == 5
    assert await levels(stocked, KNOWN) == (10, 10, 0, 0)
    assert (sweeper.expired, sweeper.passes) == (5, 1)


async def test_two_sweepers_at_once_expire_each_reservation_once(stocked, clock):
    """Two instances sweeping the same database: the re-check inside each transaction
    keeps a reservation from being given back twice (which would take another's units)."""
    for n in range(6):
        await stocked.reserve(f"r{n}", f"o{n}", [(KNOWN, 1)])
    clock.advance(TTL)
    await stocked.reserve("keep", "o-keep", [(KNOWN, 4)])
    first, second = ReservationSweeper(stocked), ReservationSweeper(stocked)
    counts = await asyncio.gather(first.sweep(), second.sweep())
    assert sum(counts) == 6
    assert await levels(stocked, KNOWN) == (10, 6, 4, 0)
    released = [e for e in await events(stocked) if e.type == "StockReleased"]
    assert sorted(e.payload["reservation_id"] for e in released) == [f"r{n}" for n in range(6)]
    await assert_stock_conserved(stocked)


async def test_the_ttl_is_the_handlers_setting(catalog, clock):
    inventory = in_memory(catalog, clock, lambda: "x", reservation_ttl=timedelta(seconds=30))
    await inventory.adjust_stock(KNOWN, 5, "initial", actor="a")
    result, _ = await inventory.reserve("r1", "o1", [(KNOWN, 1)])
    assert result["expires_at"] == "2026-01-01T12:00:30Z"
    clock.advance(29)
    assert await ReservationSweeper(inventory).sweep() == 0
    clock.advance(1)
    assert await ReservationSweeper(inventory).sweep() == 1


async def wait_for_condition(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        for _ in range(10**6):  # polling a database: nothing to wait on but time
            if await predicate():
                return
            await asyncio.sleep(0.01)


async def test_the_running_sweeper_expires_on_its_own_and_stops_cleanly(
        stocked, sweeper, clock):
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    sweeper.start()
    try:
        await wait_for_condition(lambda: _passes(sweeper, 3))
        assert await status_of(stocked, "r1") == "reserved"  # not due: passes change nothing
        clock.advance(TTL)

        async def expired():
            return await status_of(stocked, "r1") == "expired"

        await wait_for_condition(expired)
    finally:
        await sweeper.stop()
    assert not sweeper.running and sweeper.expired == 1
    passes = sweeper.passes
    await asyncio.sleep(0.05)
    assert sweeper.passes == passes  # stopped means stopped


async def _passes(sweeper, n):
    return sweeper.passes >= n


async def test_a_failing_pass_is_logged_and_the_next_one_runs(stocked, sweeper, clock):
    real = stocked.expire_due
    calls = []

    async def flaky(now=None, limit=100):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return await real(now, limit)

    stocked.expire_due = flaky
    await stocked.reserve("r1", "o1", [(KNOWN, 3)])
    clock.advance(TTL)
    sweeper.start()
    try:
        async def expired():
            return await status_of(stocked, "r1") == "expired"

        await wait_for_condition(expired)
    finally:
        await sweeper.stop()
    assert len(calls) >= 2 and not sweeper.running


async def test_the_sweeper_stops_promptly_even_mid_sleep(stocked):
    sweeper = ReservationSweeper(stocked, interval=3600)
    sweeper.start()
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await sweeper.stop()
    assert not sweeper.running and loop.time() - began < 1.0


# -- settings and wiring ----------------------------------------------------------------

def test_settings_default_to_fifteen_minutes_and_read_the_environment(monkeypatch):
    monkeypatch.delenv("MERCATO_RESERVATION_TTL", raising=False)
    monkeypatch.delenv("MERCATO_RESERVATION_SWEEP_INTERVAL", raising=False)
    assert InventorySettings().reservation_ttl == 900
    monkeypatch.setenv("MERCATO_RESERVATION_TTL", "42.5")
    monkeypatch.setenv("MERCATO_RESERVATION_SWEEP_INTERVAL", "0.5")
    settings = InventorySettings()
    assert (settings.reservation_ttl, settings.reservation_sweep_interval) == (42.5, 0.5)


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_ttl_that_is_not_a_positive_number_is_refused(monkeypatch, value):
    monkeypatch.setenv("MERCATO_RESERVATION_TTL", value)
    with pytest.raises(ValidationError):
        InventorySettings()


async def test_the_service_wires_the_ttl_and_runs_the_sweeper_until_stopped(
        monkeypatch, db, tmp_path):
    monkeypatch.setenv("MERCATO_RESERVATION_TTL", "60")
    monkeypatch.setenv("MERCATO_RESERVATION_SWEEP_INTERVAL", "0.25")
    runtime = Runtime("inventory", load_settings(data_dir=tmp_path),
                      make_instance("inventory", 1, "http://127.0.0.1:1", "test"),
                      db=db, outbox=Outbox(db, "inventory"))
    app = SimpleNamespace(state=SimpleNamespace())
    await bootstrap._wire(runtime, app)
    try:
        assert app.state.inventory.reservation_ttl == timedelta(seconds=60)
        assert app.state.sweeper.interval == 0.25
        assert app.state.sweeper.inventory is app.state.inventory
        assert app.state.sweeper.running
    finally:
        await runtime.stop_workers()  # what the chassis does when the process stops
    assert not app.state.sweeper.running


# -- over HTTP --------------------------------------------------------------------------

@pytest.fixture
async def api(tmp_path, stocked):
    app, _identity, service_token = service_app("inventory", bootstrap.build, tmp_path)
    app.state.inventory = stocked
    async with client(app) as http:
        http.service = bearer(service_token)
        yield http


async def test_over_http_a_commit_after_expiry_is_409_and_a_release_200(api, sweeper, clock):
    body = {"reservation_id": "r1", "order_id": "o1",
            "items": [{"product_id": KNOWN, "quantity": 2}]}
    assert (await api.post("/internal/reservations", json=body,
                           headers=api.service)).status_code == 201
    clock.advance(TTL)
    await sweeper.sweep()
    commit = await api.post("/internal/reservations/r1/commit", headers=api.service)
    assert commit.status_code == 409
    assert commit.headers["content-type"] == "application/problem+json"
    assert commit.json()["type"].endswith("/reservation-expired")
    assert "r1" in commit.json()["detail"]
    for _ in range(2):
        release = await api.post("/internal/reservations/r1/release", headers=api.service)
        assert release.status_code == 200
        assert release.json()["status"] == "expired"
    stock = await api.get(f"/api/v1/inventory/stock/{KNOWN}")
    assert stock.json()["available"] == 10 and stock.json()["reserved"] == 0
