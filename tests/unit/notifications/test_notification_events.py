"""Events become messages through the chassis consumer (real inbox) and a real database;
the mail goes out after the commit, never inside the handler's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mercato.chassis.messaging import Consumers
from mercato.contracts.identity import UserRegistered
from mercato.contracts.orders import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderLine,
    OrderShipped,
)
from mercato.contracts.payments import PaymentRefunded
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.notifications.handlers import RECIPIENT_WAIT
from mercato.services.notifications.messages import notification_id
from mercato.services.notifications.subscriptions import subscriptions
from tests.support.clock import ManualClock
from tests.support.messages import deliver, envelope, inbox, subscription
from tests.unit.notifications.notification_doubles import InMemoryMailer

ORDER = "0a1b2c3d-0000-4000-8000-00000000abcd"
CONFIRMED = OrderConfirmed(order_id=ORDER, customer_id="user-1", total=2598, currency="USD",
                           items=[OrderLine(product_id="p1", quantity=2, unit_price=1299)])


def cancelled(reason: str, refunded: bool = False) -> OrderCancelled:
    return OrderCancelled(order_id=ORDER, customer_id="user-1", reason=reason, total=2598,
                          currency="USD", refunded=refunded)


@pytest.fixture
async def world(make_sql_notifications):
    mailer = InMemoryMailer()
    notes = await make_sql_notifications(mailer)
    subs = subscriptions(SimpleNamespace(state=SimpleNamespace(notifications=notes)))
    consumers = Consumers("notifications", notes.store.db, None, subs)
    return SimpleNamespace(notes=notes, mailer=mailer, subs=subs, consumers=consumers,
                           db=notes.store.db)


async def send(world, name: str, event, event_id: str, attempt: int = 1):
    return await deliver(world.consumers, subscription(world.subs, name),
                         envelope(event, event_id), attempt)


async def stored(world) -> list[dict]:
    return await world.db.fetch_all(
        "SELECT id, user_id, kind, subject, body, order_id, email, sent_at FROM notifications"
        " ORDER BY created_at, id")


async def test_the_subscriptions_name_the_events_they_consume(world):
    assert {(s.name, s.source, tuple(e.type_name() for e in s.events)) for s in world.subs} == {
        ("order_outcomes", "orders", ("OrderConfirmed", "OrderCancelled")),
        ("shipments", "shipping", ("ShipmentScheduled",)),
        ("order_deliveries", "orders", ("OrderShipped", "OrderDelivered")),
        ("refunds", "payments", ("PaymentRefunded",)),
        ("recipients", "identity", ("UserRegistered",)),
    }


async def test_a_confirmed_order_stores_one_message_with_its_inbox_row_and_mails_after_commit(
        world):
    msg = await send(world, "order_outcomes", CONFIRMED, "e-1")
    assert (msg.acks, msg.naks) == (1, [])
    assert await stored(world) == [{
        "id": notification_id("e-1"), "user_id": "user-1", "kind": "order_confirmed",
        "subject": "Your order 0a1b2c3d is confirmed",
        "body": "Thank you! We received 25.98 USD.", "order_id": ORDER, "email": None,
        "sent_at": None}]
    assert await inbox(world.db, "notifications__order_outcomes") == ["e-1"]
    assert world.mailer.sent == []  # not inside the transaction
    assert world.notes.unsent.is_set()  # the commit woke the sender
    assert await world.notes.deliver_pending() == 1
    assert [n.id for n in world.mailer.sent] == [notification_id("e-1")]


async def test_a_redelivered_event_is_acked_without_a_second_message(world):
    await send(world, "order_outcomes", CONFIRMED, "e-1")
    await world.notes.deliver_pending()
    world.notes.unsent.clear()
    again = await send(world, "order_outcomes", CONFIRMED, "e-1", attempt=2)
    assert (again.acks, again.naks) == (1, [])
    assert len(await stored(world)) == 1
    assert not world.notes.unsent.is_set()
    assert await world.notes.deliver_pending() == 0
    assert len(world.mailer.sent) == 1


async def test_the_message_id_comes_from_the_event_id_so_even_without_the_inbox_it_is_one(
        world):
    env = envelope(CONFIRMED, "e-1")
    for _ in range(2):
        async with world.db.transaction() as tx:
            await world.notes.on_message_event(tx, env, CONFIRMED)
    assert [r["id"] for r in await stored(world)] == [notification_id("e-1")]
    assert notification_id("e-1") != notification_id("e-2")


async def test_a_failing_handler_leaves_neither_message_nor_inbox_row_and_is_retried(world):
    sub = subscription(world.subs, "order_outcomes")
    real = world.notes.on_message_event

    async def store_then_fail(tx, env, event):
        await real(tx, env, event)
        raise RuntimeError("boom after storing")

    failing = type(sub)(sub.name, sub.events, store_then_fail, sub.max_attempts)
    msg = await deliver(world.consumers, failing, envelope(CONFIRMED, "e-1"))
    assert (msg.acks, msg.naks) == (0, [0.5])
    assert await stored(world) == []
    assert await inbox(world.db, "notifications__order_outcomes") == []
    assert not world.notes.unsent.is_set()
    again = await send(world, "order_outcomes", CONFIRMED, "e-1", attempt=2)
    assert again.acks == 1 and len(await stored(world)) == 1


@pytest.mark.parametrize(("event", "body"), [
    (cancelled("payment_declined"),
     "Your order was cancelled because the payment was declined. You have not been charged."),
    (cancelled("customer_request", refunded=True),
     "Your order was cancelled because you asked us to cancel it."
     " Your payment of 25.98 USD has been refunded."),
])
async def test_a_cancelled_order_says_why_and_whether_it_was_refunded(world, event, body):
    await send(world, "order_outcomes", event, "e-1")
    [row] = await stored(world)
    assert (row["kind"], row["subject"], row["body"], row["order_id"]) == (
        "order_cancelled", "Your order 0a1b2c3d was cancelled", body, ORDER)


async def test_a_scheduled_shipment_gives_the_tracking_number(world):
    event = ShipmentScheduled(shipment_id="s-1", order_id=ORDER, customer_id="user-1",
                              tracking_number="MRC123456789")
    msg = await send(world, "shipments", event, "e-9")
    [row] = await stored(world)
    assert msg.acks == 1
    assert (row["id"], row["kind"], row["order_id"]) == (
        notification_id("e-9"), "shipment_scheduled", ORDER)
    assert row["subject"] == "Your order 0a1b2c3d is scheduled for shipment"
    assert "Tracking number: MRC123456789." in row["body"]
    assert await inbox(world.db, "notifications__shipments") == ["e-9"]


async def test_a_refund_names_the_amount(world):
    event = PaymentRefunded(payment_id="pay-1", order_id=ORDER, customer_id="user-1",
                            amount=1400, currency="EUR")
    await send(world, "refunds", event, "e-5")
    [row] = await stored(world)
    assert (row["kind"], row["subject"], row["body"]) == (
        "payment_refunded", "Your refund for order 0a1b2c3d",
        "We refunded 14.00 EUR to your card.")


async def test_a_registered_user_is_written_to_at_their_address_and_greeted_by_name(world):
    registered = UserRegistered(user_id="user-1", email="ada@example.com", name="Ada")
    msg = await send(world, "recipients", registered, "u-1")
    assert msg.acks == 1
    assert await world.db.fetch_all("SELECT user_id, email, name FROM recipients") == [
        {"user_id": "user-1", "email": "ada@example.com", "name": "Ada"}]
    assert await inbox(world.db, "notifications__recipients") == ["u-1"]
    assert await stored(world) == []  # a registration alone sends nothing
    await send(world, "order_outcomes", CONFIRMED, "e-1")
    [row] = await stored(world)
    assert row["email"] == "ada@example.com"
    assert row["body"] == "Hello Ada,\n\nThank you! We received 25.98 USD."
    await world.notes.deliver_pending()
    assert [n.recipient for n in world.mailer.sent] == ["ada@example.com"]


async def test_a_redelivered_registration_has_no_second_effect(world):
    await send(world, "recipients",
               UserRegistered(user_id="user-1", email="ada@example.com", name="Ada"), "u-1")
    # the same envelope id again, even carrying other data, is recognised and skipped
    again = await send(world, "recipients",
                       UserRegistered(user_id="user-1", email="eve@example.com", name="Eve"),
                       "u-1", attempt=2)
    assert (again.acks, again.naks) == (1, [])
    assert await world.db.fetch_all("SELECT email, name FROM recipients") == [
        {"email": "ada@example.com", "name": "Ada"}]


async def test_a_registration_with_an_address_that_could_split_a_header_is_retried_not_stored(
        world):
    bad = UserRegistered(user_id="user-1", email="ada@example.com\nBcc: x@y.z", name="Ada")
    msg = await send(world, "recipients", bad, "u-1")
    assert (msg.acks, msg.naks) == (0, [0.5])
    assert await world.db.fetch_all("SELECT * FROM recipients") == []
    assert await inbox(world.db, "notifications__recipients") == []


async def test_an_event_heard_before_the_registration_waits_for_it_then_greets_by_name(
        make_sql_notifications):
    clock = ManualClock(datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC))  # 5 s after it occurred
    notes = await make_sql_notifications(clock=clock)
    subs = subscriptions(SimpleNamespace(state=SimpleNamespace(notifications=notes)))
    consumers = Consumers("notifications", notes.store.db, None, subs)
    outcomes = subscription(subs, "order_outcomes")
    early = await deliver(consumers, outcomes, envelope(CONFIRMED, "e-1"))
    assert (early.acks, early.naks) == (0, [0.5])  # redelivered later, quietly
    assert await notes.store.db.fetch_all("SELECT id FROM notifications") == []
    assert await inbox(notes.store.db, "notifications__order_outcomes") == []
    await deliver(consumers, subscription(subs, "recipients"), envelope(
        UserRegistered(user_id="user-1", email="ada@example.com", name="Ada"), "u-1"))
    again = await deliver(consumers, outcomes, envelope(CONFIRMED, "e-1"), attempt=2)
    assert again.acks == 1
    [row] = await notes.store.db.fetch_all("SELECT email, body FROM notifications")
    assert row == {"email": "ada@example.com",
                   "body": "Hello Ada,\n\nThank you! We received 25.98 USD."}


async def test_past_the_wait_an_unknown_customer_is_written_to_by_user_id(make_sql_notifications):
    late = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=RECIPIENT_WAIT)
    notes = await make_sql_notifications(clock=ManualClock(late))
    subs = subscriptions(SimpleNamespace(state=SimpleNamespace(notifications=notes)))
    consumers = Consumers("notifications", notes.store.db, None, subs)
    msg = await deliver(consumers, subscription(subs, "order_outcomes"),
                        envelope(CONFIRMED, "e-1"))
    assert msg.acks == 1
    [row] = await notes.store.db.fetch_all("SELECT user_id, email FROM notifications")
    assert row == {"user_id": "user-1", "email": None}


async def test_a_shipped_and_a_delivered_order_each_tell_the_customer_once(world):
    shipped = OrderShipped(order_id=ORDER, customer_id="user-1", tracking_number="MRC0000000042")
    delivered = OrderDelivered(order_id=ORDER, customer_id="user-1")
    for event, eid in ((shipped, "e-s"), (delivered, "e-d"), (shipped, "e-s")):
        msg = await send(world, "order_deliveries", event, eid)
        assert (msg.acks, msg.naks) == (1, [])
    rows = await stored(world)
    assert [(r["kind"], r["subject"], r["order_id"]) for r in rows] == [
        ("order_shipped", "Your order 0a1b2c3d has shipped", ORDER),
        ("order_delivered", "Your order 0a1b2c3d has been delivered", ORDER)]
    assert "Tracking number: MRC0000000042" in rows[0]["body"]
    assert rows[1]["body"] == "Your order has been delivered. Enjoy!"
