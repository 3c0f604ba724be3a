"""Shipping's reactions in a choreographed checkout (docs/choreography.md), called directly
with contract events on the in-memory repository and outbox: OrderPlaced keeps the address
and lines, PaymentAuthorized schedules (or says not yet, or ShipmentFailed), and
OrderCancelling cancels or leaves a tombstone and says so with ShippingCheckoutUndone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.messaging import NotYet
from mercato.contracts.ids import shipment_id
from mercato.contracts.orders import OrderCancelling, OrderLine, OrderPlaced
from mercato.contracts.payments import PaymentAuthorized
from mercato.services.shipping.choreography import CheckoutReactions
from mercato.services.shipping.domain import IdempotencyMismatch, NoTrackingNumber, Status
from mercato.services.shipping.handlers import transition_event_id
from tests.support.messages import envelope
from tests.unit.shipping.shipping_doubles import ScriptedNumbers, schedule_cmd

ORDER = "order-1"
SID = shipment_id(ORDER)
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London",
           "postal_code": "N1 9GU", "country": "GB"}


@pytest.fixture
async def world(make_shipping):
    shipping = await make_shipping("MRC0000000001")
    return SimpleNamespace(shipping=shipping, db=shipping.db,
                           reactions=CheckoutReactions(shipping, shipping.db))


def placed(checkout: str = "choreography", **address_changes) -> OrderPlaced:
    return OrderPlaced(order_id=ORDER, customer_id="user-1", total=2599, currency="USD",
                       items=[OrderLine(product_id="p1", quantity=2, unit_price=1000),
                              OrderLine(product_id="p2", quantity=1, unit_price=599)],
                       shipping_address={**ADDRESS, **address_changes}, checkout=checkout)


def authorized() -> PaymentAuthorized:
    return PaymentAuthorized(payment_id="pay-1", order_id=ORDER, customer_id="user-1",
                             amount=2599, currency="USD")


def cancelling() -> OrderCancelling:
    return OrderCancelling(order_id=ORDER, customer_id="user-1", reason="customer_request")


async def react(world, event, eid: str = "e") -> None:
    r = world.reactions
    handler = r.on_payment_authorized if isinstance(event, PaymentAuthorized) else r.on_order
    await handler(None, envelope(event, eid), event)


async def published(world, *types: str) -> list[tuple[str, str, dict]]:
    return [(e.type, e.id, e.payload) for e in world.shipping.outbox.envelopes
            if not types or e.type in types]


async def undone_outcome(world) -> str:
    [(_, eid, payload)] = await published(world, "ShippingCheckoutUndone")
    assert eid == transition_event_id(SID, "undone")
    assert payload["order_id"] == ORDER and payload["shipment_id"] == SID
    return payload["outcome"]


async def test_order_placed_then_payment_authorized_schedules_the_shipment(world):
    await react(world, placed())
    assert await published(world) == []  # remembering says nothing
    await react(world, authorized())
    shipment = await world.shipping.store.get(SID)
    assert shipment.status is Status.SCHEDULED and shipment.order_id == ORDER
    assert shipment.address.as_dict() == ADDRESS
    assert [(i.product_id, i.quantity) for i in shipment.items] == [("p1", 2), ("p2", 1)]
    [(_, eid, payload)] = await published(world, "ShipmentScheduled")
    assert eid == transition_event_id(SID, Status.SCHEDULED)
    assert payload == {"shipment_id": SID, "order_id": ORDER, "customer_id": "user-1",
                       "tracking_number": "MRC0000000001"}


async def test_a_lower_case_country_is_shipped_to_its_upper_case_code(world):
    await react(world, placed(country="gb"))
    await react(world, authorized())
    assert (await world.shipping.store.get(SID)).address.country == "GB"


async def test_payment_authorized_before_order_placed_is_not_yet(world):
    with pytest.raises(NotYet):
        await react(world, authorized())
    assert await world.shipping.store.get(SID) is None
    assert await published(world) == []


async def test_the_same_events_twice_schedule_once(world):
    await react(world, placed(), "p1")
    await react(world, placed(city="Paris"), "p2")  # the first OrderPlaced is kept
    await react(world, authorized(), "a1")
    await react(world, authorized(), "a1")
    assert (await world.shipping.store.get(SID)).address.city == "London"
    assert len(await published(world, "ShipmentScheduled")) == 1


async def test_a_blocked_country_fails_the_shipment_without_raising(world):
    await react(world, placed(country="AQ"))
    await react(world, authorized())
    assert await world.shipping.store.get(SID) is None
    assert await published(world, "ShipmentScheduled") == []
    [(_, eid, payload)] = await published(world, "ShipmentFailed")
    assert eid == transition_event_id(SID, "failed")
    assert payload["reason"] == "not_deliverable" and payload["order_id"] == ORDER
    assert payload["customer_id"] == "user-1" and "AQ" in payload["detail"]


async def test_an_invalid_address_fails_the_shipment_without_raising(world):
    await react(world, placed(city=" "))
    await react(world, authorized())
    [(_, _, payload)] = await published(world, "ShipmentFailed")
    assert payload["reason"] == "invalid_address"
    assert await world.shipping.store.get(SID) is None


async def test_cancelling_before_the_payment_leaves_a_tombstone(world):
    await react(world, placed())
    await react(world, cancelling())
    assert await undone_outcome(world) == "nothing"
    await react(world, authorized())  # late: refused quietly
    assert await world.shipping.store.get(SID) is None
    assert await published(world, "ShipmentScheduled", "ShipmentFailed") == []


async def test_cancelling_a_scheduled_shipment_cancels_it(world):
    await react(world, placed())
    await react(world, authorized())
    await react(world, cancelling())
    assert (await world.shipping.store.get(SID)).status is Status.CANCELLED
    [(_, eid, _)] = await published(world, "ShipmentCancelled")
    assert eid == transition_event_id(SID, Status.CANCELLED)
    assert await undone_outcome(world) == "cancelled"


async def test_the_same_cancelling_twice_cancels_once(world):
    await react(world, placed())
    await react(world, authorized())
    await react(world, cancelling(), "c1")
    await react(world, cancelling(), "c1")
    assert len(await published(world, "ShipmentCancelled")) == 1
    assert await undone_outcome(world) == "cancelled"


async def test_a_payment_authorized_after_cancelling_a_shipment_ships_nothing_again(world):
    await react(world, placed())
    await react(world, authorized(), "a1")
    await react(world, cancelling())
    await react(world, authorized(), "a2")  # already-cancelled: settled, not raised
    assert (await world.shipping.store.get(SID)).status is Status.CANCELLED
    assert len(await published(world, "ShipmentScheduled")) == 1


async def test_an_orchestrated_order_is_left_to_the_orchestrator(world):
    await react(world, placed(checkout="orchestration"))
    await react(world, authorized())
    assert await world.shipping.store.get(SID) is None
    assert await published(world) == []


async def test_a_refusal_it_cannot_settle_is_raised_for_redelivery(world):
    await world.shipping.schedule(schedule_cmd(SID, order_id="order-9"))  # another order's
    await react(world, placed())
    with pytest.raises(IdempotencyMismatch):
        await react(world, authorized())
    assert await published(world, "ShipmentFailed") == []


async def test_no_unique_tracking_number_is_raised_for_redelivery(world):
    await world.shipping.schedule(schedule_cmd("ship-other"))  # takes MRC0000000001
    world.shipping.new_tracking_number = ScriptedNumbers(*["MRC0000000001"] * 5)
    await react(world, placed())
    with pytest.raises(NoTrackingNumber):
        await react(world, authorized())
    assert await published(world, "ShipmentFailed") == []
    await react(world, authorized())  # redelivered: a fresh number this time
    assert (await world.shipping.store.get(SID)).status is Status.SCHEDULED
