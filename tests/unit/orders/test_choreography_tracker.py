"""Orders in a choreographed checkout (orders/checkout/choreography.py) on the in-memory
repository and outbox: OrderPlaced says so and carries the sealed card, the participants'
events confirm the order or call it off, the order is cancelled only after all three undos,
and orchestrated orders are left to their runner."""

from __future__ import annotations

import asyncio

from mercato.chassis.sealing import CARD_TOKEN, Sealer
from mercato.contracts.inventory import InventoryCheckoutUndone, StockCommitted, StockReserved
from mercato.contracts.payments import PaymentCheckoutUndone, PaymentFailed
from mercato.contracts.shipping import ShippingCheckoutUndone
from mercato.services.orders.checkout.choreography import ChoreographyTracker
from tests.support.messages import envelope
from tests.unit.orders.conftest import ALICE, body

SECRET = "s" * 32


def choreographed(shop) -> ChoreographyTracker:
    shop.orders.mode = "choreography"
    shop.orders.sealer = Sealer(SECRET, CARD_TOKEN)
    return ChoreographyTracker(shop.store, shop.orders.outbox, shop.clock)


async def hear(shop, tracker: ChoreographyTracker, event, eid: str) -> None:
    async with shop.store.db.transaction() as tx:
        await tracker.on_event(tx, envelope(event, eid), event)


async def published(shop) -> list[tuple[str, dict]]:
    return [(e.type, e.payload) for e in await shop.published()]


def payment(order_id: str, cls=PaymentFailed, **extra):
    return cls(payment_id="p", order_id=order_id, customer_id="alice", amount=2598,
               currency="USD", **extra)


async def test_a_choreographed_order_is_announced_sealed_and_confirmed_on_the_commit(shop):
    tracker = choreographed(shop)
    order = await shop.orders.place_order(ALICE, body(("p1", 2)), None)
    [(kind, placed)] = await published(shop)
    assert (kind, placed["checkout"]) == ("OrderPlaced", "choreography")
    assert Sealer(SECRET, CARD_TOKEN).open(placed["sealed_card_token"]) == "tok_ok"
    assert order.id not in shop.orders.runner.tasks  # no orchestrator runs it

    await hear(shop, tracker, StockReserved(reservation_id="r", order_id=order.id, items=[]),
               "e1")
    assert (await shop.store.get_order(order.id)).status.value == "pending"
    await hear(shop, tracker, StockCommitted(reservation_id="r", order_id=order.id, items=[]),
               "e2")
    assert (await shop.store.get_order(order.id)).status.value == "confirmed"
    assert [k for k, _ in await published(shop)] == ["OrderPlaced", "OrderConfirmed"]


async def test_a_refusal_calls_it_off_and_only_the_third_undo_cancels(shop):
    tracker = choreographed(shop)
    order = await shop.orders.place_order(ALICE, body(("p1", 2)), None)
    await hear(shop, tracker, payment(order.id, reason="card_declined"), "e1")
    assert [k for k, _ in await published(shop)] == ["OrderPlaced", "OrderCancelling"]
    await hear(shop, tracker, InventoryCheckoutUndone(order_id=order.id, reservation_id="r",
                                                      outcome="released"), "e2")
    await hear(shop, tracker, ShippingCheckoutUndone(order_id=order.id, shipment_id="s",
                                                     outcome="nothing"), "e3")
    assert (await shop.store.get_order(order.id)).status.value == "pending"
    await hear(shop, tracker, PaymentCheckoutUndone(order_id=order.id, payment_id="p",
                                                    outcome="nothing"), "e4")
    done = await shop.store.get_order(order.id)
    assert (done.status.value, done.reason) == ("cancelled", "payment_declined")
    kinds = [k for k, _ in await published(shop)]
    assert kinds == ["OrderPlaced", "OrderCancelling", "OrderCancelled"]


async def test_events_of_an_orchestrated_order_are_left_to_its_runner(shop):
    shop.fake.hooks["reserve_stock"] = asyncio.Event().wait  # its runner stays at step one
    order = await shop.orders.place_order(ALICE, body(("p1", 2)), None)  # orchestrated
    tracker = ChoreographyTracker(shop.store, shop.orders.outbox, shop.clock)
    before = await shop.store.get_saga(order.id)
    await hear(shop, tracker, payment(order.id, reason="card_declined"), "e1")
    after = await shop.store.get_saga(order.id)
    assert (after.phase, after.records, after.version) == (
        before.phase, before.records, before.version)
    assert [k for k, _ in await published(shop)] == ["OrderPlaced"]


async def test_the_participants_events_are_the_orders_milestones_in_any_order(shop):
    from mercato.contracts.payments import PaymentAuthorized
    from mercato.contracts.shipping import ShipmentScheduled
    tracker = choreographed(shop)
    order = await shop.orders.place_order(ALICE, body(("p1", 2)), None)
    scheduled = ShipmentScheduled(shipment_id="s", order_id=order.id, customer_id="alice",
                                  tracking_number="MRC0000000001")
    await hear(shop, tracker, scheduled, "e1")  # shipping's stream came first
    await hear(shop, tracker, StockReserved(reservation_id="r", order_id=order.id, items=[]),
               "e2")
    await hear(shop, tracker, payment(order.id, cls=PaymentAuthorized), "e3")
    await hear(shop, tracker, scheduled, "e1")  # a redelivery
    await hear(shop, tracker, StockCommitted(reservation_id="r", order_id=order.id, items=[]),
               "e4")
    done = (await shop.store.get_order(order.id)).as_dict()
    assert [p["step"] for p in done["progress"]] == [
        "placed", "reserved", "paid", "shipment_scheduled", "confirmed"]
    assert done["history"][-1]["status"] == "confirmed"
    # the milestones are orders' own: nothing more is published for them
    assert [k for k, _ in await published(shop)] == ["OrderPlaced", "OrderConfirmed"]
