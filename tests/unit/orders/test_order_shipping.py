"""Orders hears the courier (ShipmentDispatched, ShipmentDelivered) in either checkout
mode: a confirmed order is shipped, then delivered, with its published events and read
models; a shipped order's cancel is refused with a 409; news of a parcel whose order is
being cancelled changes nothing. An orchestrated checkout records its milestones."""

from __future__ import annotations

import pytest

from mercato.chassis.messaging import NotYet
from mercato.contracts.envelope import Envelope
from mercato.contracts.orders import OrderDelivered, OrderShipped
from mercato.contracts.shipping import ShipmentDelivered, ShipmentDispatched
from mercato.services.orders.domain.order import AlreadyShipped, Status
from tests.support.outbox import outbox_events
from tests.unit.orders.conftest import ADMIN, ALICE
from tests.unit.orders.test_orders_api import api  # noqa: F401 - a fixture


@pytest.fixture
def shop(sql_shop):
    """The shop on a migrated database: the detail read model is SQL."""
    return sql_shop

IDS = dict(shipment_id="s-1", customer_id="alice", tracking_number="MRC0123456789")


async def hear(shop, event) -> None:
    envelope = Envelope(id=f"e-{type(event).__name__}", type=type(event).__name__,
                        source="shipping", occurred_at="2026-03-01T09:05:00Z", payload={})
    async with shop.store.db.transaction() as tx:
        await shop.orders.on_shipment_progress(tx, envelope, event)


def dispatched(order_id: str) -> ShipmentDispatched:
    return ShipmentDispatched(order_id=order_id, dispatched_at="2026-03-01T09:01:00Z", **IDS)


def delivered(order_id: str) -> ShipmentDelivered:
    return ShipmentDelivered(order_id=order_id, delivered_at="2026-03-01T09:03:00Z", **IDS)


async def test_an_orchestrated_checkout_records_each_milestone_of_the_timeline(shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    order = await shop.store.get_order(order_id)
    assert [p["step"] for p in order.as_dict()["progress"]] == [
        "placed", "reserved", "paid", "shipment_scheduled", "confirmed"]


async def test_the_couriers_news_ships_then_delivers_the_order_and_says_so(shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    await hear(shop, dispatched(order_id))
    await hear(shop, dispatched(order_id))  # a redelivery adds nothing
    assert (await shop.store.get_order(order_id)).status is Status.SHIPPED
    await hear(shop, delivered(order_id))

    published = [e for _, e in await outbox_events(shop.store.db)
                 if isinstance(e, OrderShipped | OrderDelivered)]
    assert published == [
        OrderShipped(order_id=order_id, customer_id="alice", tracking_number="MRC0123456789"),
        OrderDelivered(order_id=order_id, customer_id="alice", total=1299,
                           currency="USD")]
    await shop.projector.catch_up()
    detail = await shop.views.order_detail(ADMIN, order_id)
    assert detail == (await shop.store.get_order(order_id)).as_dict()
    assert detail["status"] == "delivered"
    assert [h["status"] for h in detail["history"]] == [
        "pending", "confirmed", "shipped", "delivered"]
    assert [p["step"] for p in detail["progress"]][-2:] == ["shipped", "delivered"]
    assert [o["status"] for o in await shop.views.list_orders("alice", 5)] == ["delivered"]


async def test_delivery_heard_before_the_dispatch_waits_for_it(shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    with pytest.raises(NotYet):
        await hear(shop, delivered(order_id))
    assert (await shop.store.get_order(order_id)).status is Status.CONFIRMED


async def test_cancelling_a_shipped_order_is_a_409_and_requests_nothing(shop, api):  # noqa: F811
    order_id = await shop.order(ALICE, ("p1", 1))
    await hear(shop, dispatched(order_id))
    with pytest.raises(AlreadyShipped):
        await shop.orders.cancel_order(ALICE, order_id)
    refused = await api.post(f"/api/v1/orders/{order_id}/cancel", headers=api.alice)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/order-shipped") and problem["order_status"] == "shipped"
    assert "can no longer be cancelled" in problem["detail"]
    assert (await shop.store.get_saga(order_id)).cancel_requested is False


async def test_news_of_a_parcel_whose_order_is_being_cancelled_changes_nothing(shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    await shop.store.request_cancel(order_id)  # the runner has not acted on it yet
    await hear(shop, dispatched(order_id))
    assert (await shop.store.get_order(order_id)).status is Status.CONFIRMED
    await shop.cancel(ALICE, order_id)
    order = await shop.store.get_order(order_id)
    assert (order.status, order.reason) == (Status.CANCELLED, "customer_request")
    assert "shipped" not in [h["status"] for h in order.as_dict()["history"]]
