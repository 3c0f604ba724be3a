"""The refund of a delivered order (refunds.py): asked by its customer within the return
window or by an admin, in either saga mode; the order ends ``refunded`` once, with
OrderRefunded published, and a refund payments could not make yet is retried."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mercato.chassis.errors import NotFound
from mercato.contracts.envelope import Envelope
from mercato.contracts.payments import PaymentRefunded
from mercato.services.orders.adapters.refund_store import SqlRefundRequestRepository
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.order import NotRefundable, Status
from mercato.services.orders.refunds import Refunds
from tests.support.memory.orders import MemoryRefundRequestRepository
from tests.unit.orders.conftest import ADMIN, ALICE, BOB
from tests.unit.orders.test_order_shipping import delivered, dispatched, hear

WINDOW = timedelta(days=14)


def refunds_of(shop, mode: str = "orchestration") -> Refunds:
    return Refunds(shop.store, MemoryRefundRequestRepository(shop.store.db), shop.fake,
                   shop.orders.outbox, shop.clock, WINDOW, mode=mode)


async def delivered_order(shop) -> str:
    order_id = await shop.order(ALICE, ("p1", 1))
    await hear(shop, dispatched(order_id))
    await hear(shop, delivered(order_id))
    return order_id


async def published(shop, type_name: str) -> list[dict]:
    return [e.payload for e in await shop.published() if e.type == type_name]


async def payment_refunded(refunds: Refunds, shop, order_id: str) -> None:
    event = PaymentRefunded(payment_id="p", order_id=order_id, customer_id="alice",
                            amount=1299, currency="USD")
    envelope = Envelope(id=f"refunded-{order_id}", type="PaymentRefunded", source="payments",
                        occurred_at="2026-03-01T10:00:00Z", payload={})
    async with shop.store.db.transaction() as tx:
        await refunds.on_payment_refunded(tx, envelope, event)


async def test_an_orchestrated_refund_gives_the_payment_back_then_refunds_the_order(shop):
    order_id = await delivered_order(shop)
    refunds = refunds_of(shop)
    asked = await refunds.request(ALICE, order_id)
    assert asked.status is Status.DELIVERED and refunds.asked.is_set()
    [requested] = await published(shop, "OrderRefundRequested")
    assert (requested["checkout"], requested["total"]) == ("orchestration", 1299)
    await refunds.refund_open()
    await refunds.refund_open()  # nothing left: the payment is not refunded twice
    assert shop.fake.calls.count("refund_payment") == 1
    order = await shop.store.get_order(order_id)
    assert order.status is Status.REFUNDED
    assert [c.status for c in order.history][-2:] == [Status.DELIVERED, Status.REFUNDED]
    assert [p["order_id"] for p in await published(shop, "OrderRefunded")] == [order_id]
    again = await refunds.request(ALICE, order_id)  # a repeat: answered, nothing new
    assert again.status is Status.REFUNDED
    assert len(await published(shop, "OrderRefundRequested")) == 1


async def test_a_refund_payments_cannot_make_yet_is_retried_on_the_next_pass(shop):
    order_id = await delivered_order(shop)
    refunds = refunds_of(shop)
    await refunds.request(ALICE, order_id)
    shop.fake.answer("refund_payment", Result("unreachable", "payments down"))
    with pytest.raises(RuntimeError, match="payments down"):
        await refunds.refund_open()
    assert (await shop.store.get_order(order_id)).status is Status.DELIVERED
    await refunds.refund_open()
    assert (await shop.store.get_order(order_id)).status is Status.REFUNDED


async def test_a_choreographed_refund_waits_for_payments_to_say_it_refunded(shop):
    order_id = await delivered_order(shop)
    refunds = refunds_of(shop, "choreography")
    await refunds.request(ALICE, order_id)
    [requested] = await published(shop, "OrderRefundRequested")
    assert requested["checkout"] == "choreography" and not refunds.asked.is_set()
    await refunds.refund_open()  # orchestrated ones only: payments reacts to this one
    assert "refund_payment" not in shop.fake.calls
    await payment_refunded(refunds, shop, order_id)
    await payment_refunded(refunds, shop, order_id)  # a redelivery adds nothing
    assert (await shop.store.get_order(order_id)).status is Status.REFUNDED
    assert len(await published(shop, "OrderRefunded")) == 1


async def test_a_refund_of_a_cancelled_checkout_does_not_touch_the_order(shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    refunds = refunds_of(shop, "choreography")
    await payment_refunded(refunds, shop, order_id)
    assert (await shop.store.get_order(order_id)).status is Status.CONFIRMED
    assert await published(shop, "OrderRefunded") == []


async def test_only_a_delivered_order_is_refunded(shop):
    order_id = await shop.order(ALICE, ("p1", 1))
    with pytest.raises(NotRefundable, match="it is confirmed, not delivered"):
        await refunds_of(shop).request(ALICE, order_id)


async def test_another_customers_order_is_not_found(shop):
    order_id = await delivered_order(shop)
    with pytest.raises(NotFound):
        await refunds_of(shop).request(BOB, order_id)


async def test_past_the_return_window_only_an_admin_may_refund(shop):
    order_id = await delivered_order(shop)
    refunds = refunds_of(shop)
    shop.clock.now += WINDOW + timedelta(seconds=1)
    with pytest.raises(NotRefundable, match="return window"):
        await refunds.request(ALICE, order_id)
    assert (await refunds.request(ADMIN, order_id)).status is Status.DELIVERED


async def test_a_refunded_order_leaves_the_sales_and_shows_refunded_in_the_read_models(
        sql_shop):
    shop = sql_shop
    order_id = await delivered_order(shop)
    await shop.projector.catch_up()
    assert (await shop.views.sales_summary())["totals"] == [
        {"currency": "USD", "orders": 1, "revenue": 1299}]
    refunds = Refunds(shop.store, SqlRefundRequestRepository(shop.store.db), shop.fake,
                      shop.orders.outbox, shop.clock, WINDOW)
    await refunds.request(ALICE, order_id)
    await refunds.refund_open()
    await shop.projector.catch_up()
    assert await shop.views.sales_summary() == {"totals": [], "by_day": [], "by_product": []}
    detail = await shop.views.order_detail(ALICE, order_id)
    assert detail["status"] == "refunded"
    assert [h["status"] for h in detail["history"]][-2:] == ["delivered", "refunded"]
    assert detail["progress"][-1]["step"] == "refunded"
    assert [(o["id"], o["status"]) for o in await shop.views.list_orders("alice", 10)] == [
        (order_id, "refunded")]
