"""Shipping publishes ShipmentScheduled and ShipmentCancelled through its outbox, in the
transaction that stores the change, with ids derived from the shipment and status."""

from __future__ import annotations

import pytest

from mercato.contracts.shipping import ShipmentCancelled, ShipmentScheduled
from mercato.services.shipping.domain import AlreadyCancelled, NotDeliverable, Status
from mercato.services.shipping.handlers import transition_event_id
from tests.support.memory.outbox import ExplodingMemoryOutbox
from tests.unit.shipping.shipping_doubles import address, schedule_cmd

IDS = dict(shipment_id="ship-1", order_id="order-1", customer_id="user-1")


async def events(shipping) -> list:
    return [event for _, event in shipping.outbox.events()]


async def test_scheduling_stores_the_shipment_and_its_shipment_scheduled_together(
    make_shipping,
):
    shipping = await make_shipping("MRCABCDEFGHIJ")
    shipment = await shipping.schedule(schedule_cmd())
    assert await shipping.store.get("ship-1") == shipment
    [(envelope, event)] = shipping.outbox.events()
    assert (envelope.id, envelope.subject, envelope.source) == (
        transition_event_id("ship-1", Status.SCHEDULED), "mercato.shipping.ShipmentScheduled",
        "shipping")
    assert event == ShipmentScheduled(**IDS, tracking_number="MRCABCDEFGHIJ")


async def test_repeating_a_schedule_adds_no_second_event(make_shipping):
    shipping = await make_shipping("MRCAAAAAAAAAA", "MRCBBBBBBBBBB")
    await shipping.schedule(schedule_cmd())
    await shipping.schedule(schedule_cmd())
    assert await events(shipping) == [ShipmentScheduled(**IDS, tracking_number="MRCAAAAAAAAAA")]


async def test_a_failure_while_recording_the_schedule_rolls_back_shipment_and_event(
    make_shipping,
):
    shipping = await make_shipping(outbox_class=ExplodingMemoryOutbox)
    shipping.outbox.fail_on = frozenset({"ShipmentScheduled"})
    with pytest.raises(RuntimeError):
        await shipping.schedule(schedule_cmd())
    assert await shipping.store.get("ship-1") is None
    assert await events(shipping) == []
    assert not shipping.outbox.wakeup.is_set()


async def test_a_clashing_tracking_number_publishes_only_the_number_kept(make_shipping):
    shipping = await make_shipping("MRCSAMESAMESA", "MRCSAMESAMESA", "MRCOTHEROTHER")
    await shipping.schedule(schedule_cmd("ship-1"))
    await shipping.schedule(schedule_cmd("ship-2"))
    assert [e.tracking_number for e in await events(shipping)] == [
        "MRCSAMESAMESA", "MRCOTHEROTHER"]


async def test_a_refused_schedule_publishes_nothing(make_shipping):
    shipping = await make_shipping()
    with pytest.raises(NotDeliverable):
        await shipping.schedule(schedule_cmd(address=address(country="AQ")))
    await shipping.cancel("ship-2")
    with pytest.raises(AlreadyCancelled):
        await shipping.schedule(schedule_cmd("ship-2"))
    assert await events(shipping) == []


async def test_cancelling_stores_the_cancel_and_its_event_once_however_often_repeated(
    make_shipping,
):
    shipping = await make_shipping("MRCABCDEFGHIJ")
    await shipping.schedule(schedule_cmd())
    first = await shipping.cancel("ship-1")
    again = await shipping.cancel("ship-1")
    assert first.status is again.status is Status.CANCELLED
    assert (await shipping.store.get("ship-1")).status is Status.CANCELLED
    decoded = shipping.outbox.events()
    assert [type(e) for _, e in decoded] == [ShipmentScheduled, ShipmentCancelled]
    envelope, event = decoded[-1]
    assert envelope.id == transition_event_id("ship-1", Status.CANCELLED)
    assert envelope.subject == "mercato.shipping.ShipmentCancelled"
    assert event == ShipmentCancelled(**IDS)


async def test_a_failure_while_recording_the_cancel_rolls_back_the_cancel_and_its_event(
    make_shipping,
):
    shipping = await make_shipping(outbox_class=ExplodingMemoryOutbox)
    await shipping.schedule(schedule_cmd())
    shipping.outbox.fail_on = frozenset({"ShipmentCancelled"})
    with pytest.raises(RuntimeError):
        await shipping.cancel("ship-1")
    assert (await shipping.store.get("ship-1")).status is Status.SCHEDULED
    assert [type(e) for e in await events(shipping)] == [ShipmentScheduled]
    shipping.outbox.fail_on = frozenset()
    assert (await shipping.cancel("ship-1")).status is Status.CANCELLED
    assert [type(e) for e in await events(shipping)] == [ShipmentScheduled, ShipmentCancelled]


async def test_cancelling_an_unknown_shipment_leaves_a_tombstone_and_publishes_nothing(
    make_shipping,
):
    shipping = await make_shipping()
    assert await shipping.cancel("ship-late") is None
    assert await shipping.cancel("ship-late") is None
    assert await shipping.store.is_tombstoned("ship-late")
    assert await events(shipping) == []
