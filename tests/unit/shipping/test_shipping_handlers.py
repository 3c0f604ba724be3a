"""Scheduling and cancelling shipments on the in-memory repository; a tombstone racing a
schedule on a real migrated database (two repositories on it)."""

from dataclasses import replace

import pytest

from mercato.chassis import Principal
from mercato.services.shipping.domain import (
    AlreadyCancelled,
    IdempotencyMismatch,
    NotDeliverable,
    Status,
)
from mercato.services.shipping.settings import ShippingSettings
from mercato.services.shipping.store import SqlShipmentRepository
from tests.unit.shipping.shipping_doubles import address, schedule_cmd


async def test_scheduling_stores_a_shipment_with_its_tracking_number(make_shipping):
    shipping = await make_shipping("MRCABCDEFGHIJ")
    shipment = await shipping.schedule(schedule_cmd())
    assert (shipment.status, shipment.tracking_number) == (Status.SCHEDULED, "MRCABCDEFGHIJ")
    assert await shipping.store.get("ship-1") == shipment


async def test_scheduling_the_same_id_again_returns_the_first_shipment(make_shipping):
    shipping = await make_shipping("MRCAAAAAAAAAA", "MRCBBBBBBBBBB")
    first = await shipping.schedule(schedule_cmd())
    again = await shipping.schedule(schedule_cmd())
    assert again == first
    assert again.tracking_number == "MRCAAAAAAAAAA"
    assert len(await shipping.store.for_order("order-1")) == 1


async def test_the_same_shipment_id_for_another_order_is_refused(make_shipping):
    shipping = await make_shipping()
    await shipping.schedule(schedule_cmd())
    with pytest.raises(IdempotencyMismatch) as caught:
        await shipping.schedule(schedule_cmd(order_id="order-2"))
    assert str(caught.value) == (
        "shipment ship-1 was first scheduled for another order or customer")


async def test_a_blocked_country_is_a_409_not_deliverable_and_stores_nothing(make_shipping):
    shipping = await make_shipping(blocked=frozenset({"AQ", "KP"}))
    with pytest.raises(NotDeliverable) as caught:
        await shipping.schedule(schedule_cmd(address=address(country="KP")))
    assert (caught.value.country, caught.value.facts) == ("KP", {"country": "KP"})
    assert await shipping.store.get("ship-1") is None


async def test_a_clashing_tracking_number_is_replaced_by_a_fresh_one(make_shipping):
    shipping = await make_shipping("MRCSAMESAMESA", "MRCSAMESAMESA", "MRCOTHEROTHER")
    await shipping.schedule(schedule_cmd("ship-1"))
    second = await shipping.schedule(schedule_cmd("ship-2"))
    assert second.tracking_number == "MRCOTHEROTHER"


async def test_cancelling_a_scheduled_shipment_is_idempotent(make_shipping):
    shipping = await make_shipping()
    await shipping.schedule(schedule_cmd())
    first = await shipping.cancel("ship-1")
    again = await shipping.cancel("ship-1")
    assert first.status is Status.CANCELLED
    assert again == first
    assert (await shipping.store.get("ship-1")).status is Status.CANCELLED


async def test_a_schedule_after_its_cancel_is_refused_as_already_cancelled(make_shipping):
    shipping = await make_shipping()
    await shipping.schedule(schedule_cmd())
    await shipping.cancel("ship-1")
    with pytest.raises(AlreadyCancelled) as caught:
        await shipping.schedule(schedule_cmd())
    assert caught.value.facts == {"shipment_id": "ship-1"}


async def test_cancelling_an_unknown_shipment_leaves_a_tombstone_that_refuses_it_later(
    make_shipping,
):
    shipping = await make_shipping()
    assert await shipping.cancel("ship-late") is None
    assert await shipping.cancel("ship-late") is None
    with pytest.raises(AlreadyCancelled):
        await shipping.schedule(schedule_cmd("ship-late"))
    assert await shipping.store.get("ship-late") is None


async def test_a_tombstone_written_between_the_checks_and_the_insert_still_wins(
        make_sql_shipping):
    shipping = await make_sql_shipping()
    # Another instance: the same database, its own repository.
    elsewhere = replace(shipping, store=SqlShipmentRepository(shipping.db))
    original_get = shipping.store.get

    async def get_then_cancel_elsewhere(shipment_id, tx=None):
        found = await original_get(shipment_id, tx)
        await elsewhere.cancel(shipment_id)
        return found

    shipping.store.get = get_then_cancel_elsewhere
    with pytest.raises(AlreadyCancelled):
        await shipping.schedule(schedule_cmd())
    assert await original_get("ship-1") is None


def user(subject: str, *roles: str) -> Principal:
    return Principal(subject=subject, roles=frozenset({"customer", *roles}))


async def test_the_owner_and_an_admin_see_an_orders_shipments_and_others_none(make_shipping):
    shipping = await make_shipping()
    await shipping.schedule(schedule_cmd())
    assert [s.id for s in await shipping.shipments_of_order("order-1", user("user-1"))] == [
        "ship-1"]
    assert len(await shipping.shipments_of_order("order-1", user("boss", "admin"))) == 1
    # another's order lists nothing, exactly as one that does not exist
    assert await shipping.shipments_of_order("order-1", user("user-2")) == []
    assert await shipping.shipments_of_order("order-9", user("user-2")) == []


def test_blocked_countries_default_to_antarctica_and_are_read_from_the_environment(
    monkeypatch,
):
    monkeypatch.delenv("MERCATO_SHIPPING_BLOCKED_COUNTRIES", raising=False)
    assert ShippingSettings().blocked() == frozenset({"AQ"})
    monkeypatch.setenv("MERCATO_SHIPPING_BLOCKED_COUNTRIES", " kp, AQ ,,ir")
    assert ShippingSettings().blocked() == frozenset({"KP", "AQ", "IR"})
    monkeypatch.setenv("MERCATO_SHIPPING_BLOCKED_COUNTRIES", "")
    assert ShippingSettings().blocked() == frozenset()
