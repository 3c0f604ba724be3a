"""The checkout's metrics, in both saga modes, on the real runner and tracker with fake
participants: how checkouts end, how long from placement, how long each step — each order
counted once, by the transaction that committed its end, with durations taken from the
order's and the saga's own timestamps (a manual clock here)."""

from __future__ import annotations

import pytest
from opentelemetry import context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from mercato.chassis.telemetry import SLOW_CHECKOUT, keep, parse_traceparent
from mercato.contracts.inventory import (
    InventoryCheckoutUndone,
    StockCommitted,
    StockReserved,
)
from mercato.contracts.payments import PaymentAuthorized, PaymentCaptured, PaymentCheckoutUndone
from mercato.contracts.shipping import ShipmentScheduled, ShippingCheckoutUndone
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.metrics import CheckoutMetrics
from tests.support.messages import envelope
from tests.unit.orders.conftest import ALICE, body
from tests.unit.orders.test_choreography_tracker import choreographed, hear, payment

UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
STEPS = ("reserve_stock", "authorize_payment", "schedule_shipment", "capture_payment",
         "confirm_order")


@pytest.fixture
def registry(shop) -> CollectorRegistry:
    registry = CollectorRegistry()
    shop.orders.runner.metrics = CheckoutMetrics(registry)
    return registry


def value(registry: CollectorRegistry, name: str, **labels) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def checkouts(registry: CollectorRegistry) -> dict[tuple, float]:
    found = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name == "mercato_checkouts_total":
                found[(s.labels["outcome"], s.labels["reason"], s.labels["mode"])] = s.value
    return found


def later(shop, seconds: float):
    async def advance() -> None:
        shop.clock.advance(seconds)
    return advance


async def test_a_confirmed_order_is_one_confirmed_checkout_timed_from_its_placement(shop,
                                                                                   registry):
    shop.fake.hooks["reserve_stock"] = later(shop, 2)
    shop.fake.hooks["capture_payment"] = later(shop, 0.5)
    await shop.order(ALICE, ("p1", 1))
    assert checkouts(registry) == {("confirmed", "", "orchestration"): 1}
    assert value(registry, "mercato_checkout_duration_seconds_sum", outcome="confirmed",
                 mode="orchestration") == 2.5
    for step in STEPS:
        assert value(registry, "mercato_saga_step_duration_seconds_count", step=step,
                     outcome="ok", mode="orchestration") == 1
    assert value(registry, "mercato_saga_step_duration_seconds_sum", step="reserve_stock",
                 outcome="ok", mode="orchestration") == 2


async def test_a_declined_card_is_one_cancelled_checkout_with_its_reason_and_a_rejected_step(
        shop, registry):
    shop.fake.answer("authorize_payment", Result("rejected", "402: declined"))
    await shop.order(ALICE, ("p1", 1), card="tok_decline")
    assert checkouts(registry) == {("cancelled", "payment_declined", "orchestration"): 1}
    assert value(registry, "mercato_saga_step_duration_seconds_count",
                 step="authorize_payment", outcome="rejected", mode="orchestration") == 1
    assert value(registry, "mercato_saga_step_duration_seconds_count",
                 step="schedule_shipment", outcome="ok", mode="orchestration") == 0


async def test_a_step_retried_then_done_is_observed_once_from_its_first_attempt(shop, registry):
    shop.fake.answer("schedule_shipment", Result("transient", "503: busy"))
    shop.fake.hooks["schedule_shipment"] = later(shop, 1)
    await shop.order(ALICE, ("p1", 1))
    assert value(registry, "mercato_saga_step_duration_seconds_count",
                 step="schedule_shipment", outcome="ok", mode="orchestration") == 1
    assert value(registry, "mercato_saga_step_duration_seconds_sum",
                 step="schedule_shipment", outcome="ok", mode="orchestration") == 2


async def test_a_confirmed_order_cancelled_later_is_not_counted_a_second_time(shop, registry):
    order_id = await shop.order(ALICE, ("p1", 1))
    await shop.cancel(ALICE, order_id)
    assert (await shop.store.get_order(order_id)).status.value == "cancelled"
    assert checkouts(registry) == {("confirmed", "", "orchestration"): 1}


async def test_a_choreographed_checkout_is_counted_once_with_steps_timed_along_the_chain(
        shop, registry):
    tracker = choreographed(shop)
    tracker.metrics = shop.orders.runner.metrics
    order = await shop.orders.place_order(ALICE, body(("p1", 1)), None)
    oid = order.id
    chain = [StockReserved(reservation_id="r", order_id=oid, items=[]),
             payment(oid, PaymentAuthorized),
             ShipmentScheduled(shipment_id="s", order_id=oid, customer_id="alice",
                               tracking_number="t"),
             payment(oid, PaymentCaptured),
             StockCommitted(reservation_id="r", order_id=oid, items=[])]
    for n, event in enumerate(chain, 1):
        shop.clock.advance(n)  # reserve after 1 s, authorize 2 s later, ...
        await hear(shop, tracker, event, f"e{n}")
    await hear(shop, tracker, chain[-1], "e5-again")  # heard twice: nothing more
    assert checkouts(registry) == {("confirmed", "", "choreography"): 1}
    assert value(registry, "mercato_checkout_duration_seconds_sum", outcome="confirmed",
                 mode="choreography") == 15
    for n, step in enumerate(STEPS, 1):
        assert value(registry, "mercato_saga_step_duration_seconds_sum", step=step,
                     outcome="ok", mode="choreography") == n


async def test_a_choreographed_cancellation_counts_when_the_last_undo_commits(shop, registry):
    tracker = choreographed(shop)
    tracker.metrics = shop.orders.runner.metrics
    order = await shop.orders.place_order(ALICE, body(("p1", 1)), None)
    await hear(shop, tracker, payment(order.id, reason="card_declined"), "e1")
    await hear(shop, tracker, InventoryCheckoutUndone(order_id=order.id, reservation_id="r",
                                                      outcome="released"), "e2")
    await hear(shop, tracker, ShippingCheckoutUndone(order_id=order.id, shipment_id="s",
                                                     outcome="nothing"), "e3")
    assert checkouts(registry) == {}
    undone = PaymentCheckoutUndone(order_id=order.id, payment_id="p", outcome="nothing")
    with pytest.raises(RuntimeError):  # the consumer's transaction rolls back
        async with shop.store.db.transaction() as tx:
            await tracker.on_event(tx, envelope(undone, "e4"), undone)
            raise RuntimeError("the batch's commit failed")
    assert checkouts(registry) == {}
    await hear(shop, tracker, undone, "e4")
    assert checkouts(registry) == {("cancelled", "payment_declined", "choreography"): 1}
    assert value(registry, "mercato_saga_step_duration_seconds_count",
                 step="authorize_payment", outcome="rejected", mode="choreography") == 1



async def test_a_slow_checkout_outside_the_sample_is_kept_as_one_span(shop, registry):
    kept = InMemorySpanExporter()
    keep.install_keeper(Resource.create({}), SimpleSpanProcessor(kept))
    try:  # both orders run in a trace that was not sampled
        attached = context.attach(parse_traceparent(UNSAMPLED))
        try:
            shop.fake.hooks["reserve_stock"] = later(shop, SLOW_CHECKOUT / 2)
            fast = await shop.order(ALICE, ("p1", 1))
            shop.fake.hooks["reserve_stock"] = later(shop, SLOW_CHECKOUT + 1)
            slow = await shop.order(ALICE, ("p1", 1))
        finally:
            context.detach(attached)
    finally:
        keep._keeper.clear()
    (span,) = kept.get_finished_spans()
    assert span.name == "checkout" and span.attributes["mercato.kept"] == "slow"
    assert span.attributes["mercato.order_id"] == slow != fast
    assert span.attributes["mercato.checkout.outcome"] == "confirmed"
    assert [link.context.trace_id for link in span.links] == [int(UNSAMPLED[3:35], 16)]
