"""The courier over the in-memory repository and outbox: only a confirmed order's shipment moves,
each step at its time with its event through the outbox, a cancelled one never moves, and
a new courier over the same stored shipments (a restart) goes on where the last one stopped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import shipment_id
from mercato.contracts.orders import OrderConfirmed
from mercato.contracts.shipping import ShipmentDelivered, ShipmentDispatched, ShipmentLabelled
from mercato.services.shipping.courier import Courier, move_due
from mercato.services.shipping.domain import (
    AlreadyDelivered,
    CourierSchedule,
    ShippingError,
    Status,
)
from mercato.services.shipping.handlers import Shipping, transition_event_id
from mercato.services.shipping.settings import ShippingSettings
from tests.support.clock import ManualClock
from tests.support.memory import MemoryDatabase
from tests.support.memory.outbox import MemoryOutbox
from tests.support.memory.shipping import MemoryShipmentRepository
from tests.unit.shipping.shipping_doubles import ScriptedNumbers, schedule_cmd

SID = shipment_id("order-1")
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_courier_shipping():
    """``over``: a shipping whose stored shipments and outbox the new one takes on."""
    async def make(clock: ManualClock, over: Shipping | None = None,
                   schedule: CourierSchedule = CourierSchedule()) -> Shipping:
        db = MemoryDatabase() if over is None else over.db
        store = MemoryShipmentRepository(db) if over is None else over.store
        outbox = MemoryOutbox(db, "shipping") if over is None else over.outbox
        return Shipping(db=db, store=store, outbox=outbox,
                        blocked_countries=frozenset(), clock=clock,
                        new_tracking_number=ScriptedNumbers("MRCTRACKTRACK"), courier=schedule)
    return make


def confirmed(order_id: str = "order-1") -> OrderConfirmed:
    return OrderConfirmed(order_id=order_id, customer_id="user-1", total=1000,
                          currency="USD", items=[])


async def confirm(shipping: Shipping, order_id: str = "order-1") -> None:
    envelope = Envelope(id="e-1", type="OrderConfirmed", source="orders",
                        occurred_at="2025-01-01T12:00:00Z", payload={})
    async with shipping.db.transaction() as tx:
        await shipping.on_order_confirmed(tx, envelope, confirmed(order_id))


async def step_events(shipping: Shipping) -> list:
    return [(env.id, event) for env, event in shipping.outbox.events()
            if not event.type_name() == "ShipmentScheduled"]


async def test_a_scheduled_shipment_does_not_move_before_its_order_is_confirmed(
        make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    clock.advance(3600)
    assert await move_due(shipping) == 0
    assert (await shipping.store.get(SID)).status is Status.SCHEDULED


async def test_a_confirmed_orders_shipment_is_labelled_dispatched_and_delivered_on_time(
        make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    await confirm(shipping)
    assert shipping.released.is_set()

    seen = []
    for seconds in (29, 1, 29, 1, 119, 1):  # label 30 s, dispatch 30 s later, deliver 120 s
        clock.advance(seconds)
        await move_due(shipping)
        seen.append(str((await shipping.store.get(SID)).status))

    assert seen == ["scheduled", "labelled", "labelled", "in_transit", "in_transit",
                    "delivered"]
    ids = {"shipment_id": SID, "order_id": "order-1", "customer_id": "user-1",
           "tracking_number": "MRCTRACKTRACK"}
    assert await step_events(shipping) == [
        (transition_event_id(SID, Status.LABELLED),
         ShipmentLabelled(**ids, labelled_at="2025-01-01T12:00:30Z")),
        (transition_event_id(SID, Status.IN_TRANSIT),
         ShipmentDispatched(**ids, dispatched_at="2025-01-01T12:01:00Z")),
        (transition_event_id(SID, Status.DELIVERED),
         ShipmentDelivered(**ids, delivered_at="2025-01-01T12:03:00Z")),
    ]
    clock.advance(3600)
    assert await move_due(shipping) == 0


async def test_a_courier_that_was_down_takes_the_missed_steps_one_per_pass(
        make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    await confirm(shipping)
    clock.advance(600)  # down for ten minutes
    restarted = await make_courier_shipping(clock, over=shipping)
    assert await move_due(restarted) == 1
    assert (await restarted.store.get(SID)).status is Status.LABELLED
    clock.advance(30)
    assert await move_due(restarted) == 1
    assert (await restarted.store.get(SID)).status is Status.IN_TRANSIT


async def test_a_cancelled_shipment_is_never_moved_even_when_its_confirmation_comes_late(
        make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    await shipping.cancel(SID)
    await confirm(shipping)
    clock.advance(3600)
    assert await move_due(shipping) == 0
    assert (await shipping.store.get(SID)).status is Status.CANCELLED
    assert [type(e).__name__ for _, e in await step_events(shipping)] == ["ShipmentCancelled"]


async def test_a_shipment_in_transit_is_called_back_by_a_cancel_and_then_stays_put(
        make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    await confirm(shipping)
    for _ in range(2):
        clock.advance(30)
        await move_due(shipping)
    assert (await shipping.store.get(SID)).status is Status.IN_TRANSIT
    await shipping.cancel(SID)
    clock.advance(3600)
    assert await move_due(shipping) == 0
    assert (await shipping.store.get(SID)).status is Status.CANCELLED


async def test_a_delivered_shipment_cannot_be_cancelled(make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    await confirm(shipping)
    for seconds in (30, 30, 120):
        clock.advance(seconds)
        await move_due(shipping)
    with pytest.raises(AlreadyDelivered):
        await shipping.cancel(SID)
    assert (await shipping.store.get(SID)).status is Status.DELIVERED


async def test_a_repeated_confirmation_does_not_push_the_schedule_back(make_courier_shipping):
    clock = ManualClock(START)
    shipping = await make_courier_shipping(clock)
    await shipping.schedule(schedule_cmd(SID))
    await confirm(shipping)
    first = (await shipping.store.get(SID)).due_at
    clock.advance(20)
    await confirm(shipping)  # a redelivered OrderConfirmed
    assert (await shipping.store.get(SID)).due_at == first


async def test_the_running_courier_delivers_a_released_shipment_by_itself(
        make_courier_shipping):
    from mercato.chassis.clock import utc_now
    shipping = await make_courier_shipping(utc_now, schedule=CourierSchedule.at_speed(600))
    courier = Courier(shipping, poll=0.5)
    courier.start()
    try:
        await shipping.schedule(schedule_cmd(SID))
        await confirm(shipping)  # wakes it: 0.05 s to the label, 0.05 s to dispatch, 0.2 s
        for _ in range(250):  # 5 s at most
            if (await shipping.store.get(SID)).status is Status.DELIVERED:
                break
            await asyncio.sleep(0.02)
    finally:
        await courier.stop()
    assert [type(e).__name__ for _, e in await step_events(shipping)] == [
        "ShipmentLabelled", "ShipmentDispatched", "ShipmentDelivered"]


def test_the_speedup_divides_every_step_of_the_demo_pace_and_must_be_positive():
    fast = CourierSchedule.at_speed(60)
    assert (fast.label, fast.dispatch, fast.deliver) == (0.5, 0.5, 2.0)
    assert CourierSchedule() == CourierSchedule.at_speed(1)
    with pytest.raises(ShippingError):
        CourierSchedule.at_speed(0)


def test_the_courier_speedup_is_read_from_its_environment_variable(monkeypatch):
    monkeypatch.setenv("MERCATO_COURIER_SPEEDUP", "120")
    assert ShippingSettings().courier_speedup == 120.0
    monkeypatch.setenv("MERCATO_COURIER_SPEEDUP", "0")
    with pytest.raises(ValidationError, match="courier_speedup"):
        ShippingSettings()
