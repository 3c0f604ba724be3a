"""Payments publishes one event per status transition through its outbox, in the
transaction that stores the transition, with an id derived from the payment and status."""

from __future__ import annotations

import pytest

from mercato.chassis.errors import DomainError
from mercato.contracts.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    PaymentVoided,
)
from mercato.services.payments.domain import Action, Status
from mercato.services.payments.events import transition_event_id
from tests.support.memory.outbox import ExplodingMemoryOutbox
from tests.unit.payments.payment_doubles import (
    FakeProvider,
    answer,
    authorize_cmd,
)

FIELDS = dict(payment_id="pay-1", order_id="order-1", customer_id="user-1", amount=2599,
              currency="USD")


def events(payments) -> list:
    return [event for _, event in payments.outbox.events()]


async def ledger_kinds(payments, payment_id: str = "pay-1") -> list[str]:
    return [e["kind"] for e in await payments.store.ledger(payment_id)]


async def test_an_authorization_stores_the_payment_and_its_payment_authorized_together(
    make_payments,
):
    payments = await make_payments(FakeProvider("approve"))
    payment = await payments.authorize(authorize_cmd())
    assert await payments.store.get("pay-1") == payment
    [(envelope, event)] = payments.outbox.events()
    assert (envelope.id, envelope.subject, envelope.source) == (
        transition_event_id("pay-1", Status.AUTHORIZED), "mercato.payments.PaymentAuthorized",
        "payments")
    assert event == PaymentAuthorized(**FIELDS)


async def test_repeating_an_authorization_adds_no_second_event(make_payments):
    payments = await make_payments(FakeProvider("approve"))
    await payments.authorize(authorize_cmd())
    await payments.authorize(authorize_cmd())
    assert events(payments) == [PaymentAuthorized(**FIELDS)]


async def test_a_decline_publishes_payment_failed_with_the_reason_once(make_payments):
    payments = await make_payments(FakeProvider("decline"))
    for _ in range(2):
        with pytest.raises(DomainError) as caught:
            await payments.authorize(authorize_cmd())
        assert answer(caught.value).status == 402
    [(envelope, event)] = payments.outbox.events()
    assert envelope.id == transition_event_id("pay-1", Status.FAILED)
    assert event == PaymentFailed(**FIELDS, reason="card_declined")
    assert await ledger_kinds(payments) == ["declined"]


async def test_a_failure_while_recording_the_authorization_rolls_back_payment_and_event(
    make_payments,
):
    payments = await make_payments(FakeProvider("approve"), outbox_class=ExplodingMemoryOutbox)
    payments.outbox.fail_on = frozenset({"PaymentAuthorized"})
    with pytest.raises(RuntimeError):
        await payments.authorize(authorize_cmd())
    assert await payments.store.get("pay-1") is None
    assert await ledger_kinds(payments) == []
    assert events(payments) == []
    assert not payments.outbox.wakeup.is_set()


async def test_a_transient_provider_failure_publishes_nothing(make_payments):
    payments = await make_payments(FakeProvider("fail"))
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd())
    assert answer(caught.value).status == 503
    assert events(payments) == []


@pytest.mark.parametrize(("steps", "event_class", "status"), [
    (["capture"], PaymentCaptured, Status.CAPTURED),
    (["void"], PaymentVoided, Status.VOIDED),
    (["capture", "refund"], PaymentRefunded, Status.REFUNDED),
])
async def test_each_move_is_stored_with_its_event_and_repeating_it_adds_none(
    make_payments, steps, event_class, status,
):
    payments = await make_payments(FakeProvider("approve"))
    await payments.authorize(authorize_cmd())
    for step in steps:
        await getattr(payments, step)("pay-1")
    again = await getattr(payments, steps[-1])("pay-1")
    assert again.status is status
    assert (await payments.store.get("pay-1")).status is status
    decoded = payments.outbox.events()
    assert [type(e) for _, e in decoded] == [
        PaymentAuthorized, *({"capture": PaymentCaptured, "void": PaymentVoided,
                              "refund": PaymentRefunded}[s] for s in steps)]
    envelope, event = decoded[-1]
    assert event == event_class(**FIELDS)
    assert envelope.id == transition_event_id("pay-1", status)


@pytest.mark.parametrize(("steps", "action", "event_type", "kept"), [
    ([], "capture", "PaymentCaptured", Status.AUTHORIZED),
    ([], "void", "PaymentVoided", Status.AUTHORIZED),
    (["capture"], "refund", "PaymentRefunded", Status.CAPTURED),
])
async def test_a_failure_while_recording_a_move_rolls_back_the_move_and_its_event(
    make_payments, steps, action, event_type, kept,
):
    payments = await make_payments(FakeProvider("approve"), outbox_class=ExplodingMemoryOutbox)
    await payments.authorize(authorize_cmd())
    for step in steps:
        await getattr(payments, step)("pay-1")
    before_ledger = await ledger_kinds(payments)
    before_events = events(payments)
    payments.outbox.fail_on = frozenset({event_type})
    with pytest.raises(RuntimeError):
        await getattr(payments, action)("pay-1")
    assert (await payments.store.get("pay-1")).status is kept
    assert await ledger_kinds(payments) == before_ledger
    assert events(payments) == before_events
    payments.outbox.fail_on = frozenset()
    await getattr(payments, action)("pay-1")  # the retry publishes it, once
    assert [type(e).__name__ for e in events(payments)].count(event_type) == 1


async def test_voiding_an_unknown_payment_leaves_a_tombstone_and_publishes_nothing(
    make_payments,
):
    payments = await make_payments(FakeProvider())
    assert await payments.void("pay-9") is None
    assert await payments.void("pay-9") is None
    assert await payments.store.is_tombstoned("pay-9")
    assert events(payments) == []


async def test_voiding_a_declined_payment_publishes_failed_then_voided(make_payments):
    payments = await make_payments(FakeProvider("decline"))
    with pytest.raises(DomainError):
        await payments.authorize(authorize_cmd())
    await payments.void("pay-1")
    assert events(payments) == [PaymentFailed(**FIELDS, reason="card_declined"),
                                      PaymentVoided(**FIELDS)]


async def test_an_illegal_move_publishes_nothing(make_payments):
    payments = await make_payments(FakeProvider("approve"))
    await payments.authorize(authorize_cmd())
    with pytest.raises(DomainError) as caught:
        await payments.refund("pay-1")
    assert answer(caught.value).status == 409
    assert events(payments) == [PaymentAuthorized(**FIELDS)]


async def test_a_move_another_instance_made_first_is_not_published_again(make_payments):
    payments = await make_payments(FakeProvider("approve"))
    await payments.authorize(authorize_cmd())
    stale = await payments.store.get("pay-1")
    await payments.capture("pay-1")
    # As if another instance had read the payment before this one captured it.
    assert (await payments._advance(stale, Action.CAPTURE)).status is Status.CAPTURED
    assert [type(e) for e in events(payments)] == [PaymentAuthorized, PaymentCaptured]


async def test_event_ids_are_derived_from_the_payment_and_the_status():
    assert transition_event_id("pay-1", Status.CAPTURED) == transition_event_id(
        "pay-1", Status.CAPTURED)
    ids = {transition_event_id(p, s) for p in ("pay-1", "pay-2") for s in Status}
    assert len(ids) == 2 * len(Status)
