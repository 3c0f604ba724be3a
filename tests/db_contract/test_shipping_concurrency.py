"""Shipping under two concurrent writers of one shipment id, on both backends
(docs/production.md §1): two replicas' handlers (two handles on one migrated database;
on PostgreSQL two pools under READ COMMITTED, kept apart by the ``shipment:<id>`` lock).
Every read inside a transaction lingers (``kit.WINDOW``), so that without the lock both
writers would read "nothing there" before either writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mercato.chassis.data import Database
from mercato.chassis.messaging import Outbox
from mercato.services.shipping.domain import AlreadyCancelled
from mercato.services.shipping.handlers import Shipping
from mercato.services.shipping.store import SqlShipmentRepository
from tests.db_contract import kit
from tests.support.clock import StepClock
from tests.unit.shipping.shipping_doubles import ScriptedNumbers, schedule_cmd

SERVICE = "shipping"  # the database conftest ``service_db_url`` names


@pytest.fixture
async def two(service_db_url, tmp_path):
    """Two replicas' shipping handlers on one migrated database, each its own handle."""
    async with kit.handles(SERVICE, service_db_url, tmp_path) as opened:
        replicas = []
        for n, db in enumerate(opened):
            slow: Any = kit.LingeringDatabase(db)
            replicas.append(Shipping(
                db=slow, store=SqlShipmentRepository(slow), outbox=Outbox(slow, "shipping"),
                blocked_countries=frozenset(), clock=StepClock(),
                new_tracking_number=ScriptedNumbers(f"MRC-{n}-1", f"MRC-{n}-2")))
        yield replicas


async def count(db: Database, table: str) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def test_one_shipment_scheduled_twice_at_once_is_one_shipment_and_a_replay(two):
    one, other = await asyncio.gather(two[0].schedule(schedule_cmd("ship-1")),
                                      two[1].schedule(schedule_cmd("ship-1")))
    assert one.tracking_number == other.tracking_number  # the second answers the first's
    assert await count(two[0].db, "shipments") == 1
    assert await count(two[0].db, "outbox") == 1  # one ShipmentScheduled


async def test_a_clashing_tracking_number_is_retried_with_another(two):
    two[1].new_tracking_number = ScriptedNumbers("MRC-0-1", "MRC-1-2")
    await two[0].schedule(schedule_cmd("ship-1"))
    second = await two[1].schedule(schedule_cmd("ship-2", order_id="order-2"))
    assert second.tracking_number == "MRC-1-2"


async def test_a_cancel_racing_a_schedule_never_leaves_both(two):
    for attempt in range(4):  # either may start first: both orders, a few times
        sid = f"ship-{attempt}"
        scheduler, canceller = (two[0], two[1]) if attempt % 2 else (two[1], two[0])

        async def schedule(scheduler: Shipping = scheduler, sid: str = sid,
                           attempt: int = attempt) -> str:
            try:
                await scheduler.schedule(schedule_cmd(sid, order_id=f"order-{attempt}"))
            except AlreadyCancelled:
                return "refused"
            return "scheduled"

        async def cancel(canceller: Shipping = canceller, sid: str = sid) -> str:
            found = await canceller.cancel(sid)
            return "tombstone" if found is None else "cancelled"

        outcome = sorted(await asyncio.gather(schedule(), cancel()))
        assert outcome in (["cancelled", "scheduled"], ["refused", "tombstone"]), outcome
        shipment = await two[0].store.get(sid)
        tombstoned = await two[0].store.is_tombstoned(sid)
        assert (shipment is None) == tombstoned
        if shipment is not None:
            assert str(shipment.status) == "cancelled"
