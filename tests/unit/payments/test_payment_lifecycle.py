"""Capture, void and refund: legal moves happen once, illegal ones are 409."""

import pytest

from mercato.chassis import Principal
from mercato.chassis.errors import DomainError
from mercato.services.payments.domain import Action, Status
from tests.unit.payments.payment_doubles import FakeProvider, answer, authorize_cmd, refused


async def authorized(make_payments, *script):
    provider = FakeProvider("approve", *script)
    payments = await make_payments(provider)
    await payments.authorize(authorize_cmd())
    return payments, provider


async def test_capture_then_refund_moves_the_payment_and_writes_the_ledger(make_payments):
    payments, provider = await authorized(make_payments)
    assert (await payments.capture("pay-1")).status is Status.CAPTURED
    assert (await payments.refund("pay-1")).status is Status.REFUNDED
    ledger = await payments.store.ledger("pay-1")
    assert [(e["kind"], e["amount"]) for e in ledger] == [
        ("authorized", 2599), ("captured", 2599), ("refunded", 2599)]
    assert ("capture", "fake_auth_pay-1", 2599) in provider.calls
    assert ("refund", "fake_auth_pay-1", 2599) in provider.calls


async def test_repeating_a_capture_captures_once(make_payments):
    payments, provider = await authorized(make_payments)
    first = await payments.capture("pay-1")
    again = await payments.capture("pay-1")
    assert again == first
    assert provider.count("capture") == 1
    assert [e["kind"] for e in await payments.store.ledger("pay-1")].count("captured") == 1


async def test_repeating_a_void_voids_once(make_payments):
    payments, provider = await authorized(make_payments)
    await payments.void("pay-1")
    assert (await payments.void("pay-1")).status is Status.VOIDED
    assert provider.count("void") == 1
    assert [e["kind"] for e in await payments.store.ledger("pay-1")] == ["authorized", "voided"]


async def test_repeating_a_refund_refunds_once(make_payments):
    payments, provider = await authorized(make_payments)
    await payments.capture("pay-1")
    await payments.refund("pay-1")
    assert (await payments.refund("pay-1")).status is Status.REFUNDED
    assert provider.count("refund") == 1


@pytest.mark.parametrize(("steps", "action"), [
    (["capture"], "void"),
    ([], "refund"),
    (["void"], "capture"),
    (["void"], "refund"),
    (["capture", "refund"], "void"),
    (["capture", "refund"], "capture"),
])
async def test_an_illegal_move_is_a_409_and_leaves_the_payment_as_it_was(
    make_payments, steps, action,
):
    payments, _ = await authorized(make_payments)
    for step in steps:
        await getattr(payments, step)("pay-1")
    before = await payments.store.get("pay-1")
    with pytest.raises(DomainError) as caught:
        await getattr(payments, action)("pay-1")
    assert refused(caught.value) == (409, "invalid-transition")
    assert answer(caught.value).facts["payment_status"] == str(before.status)
    assert await payments.store.get("pay-1") == before


async def test_capture_or_refund_of_an_unknown_payment_is_404(make_payments):
    payments = await make_payments(FakeProvider())
    for action in (payments.capture, payments.refund):
        with pytest.raises(DomainError) as caught:
            await action("nope")
        assert answer(caught.value).status == 404


async def test_capture_of_a_tombstoned_payment_is_already_cancelled(make_payments):
    payments = await make_payments(FakeProvider())
    await payments.void("pay-9")
    with pytest.raises(DomainError) as caught:
        await payments.capture("pay-9")
    assert refused(caught.value) == (409, "already-cancelled")


async def test_voiding_an_unknown_payment_twice_keeps_one_tombstone(make_payments):
    payments = await make_payments(FakeProvider())
    assert await payments.void("pay-9") is None
    assert await payments.void("pay-9") is None
    assert await payments.store.is_tombstoned("pay-9")


async def test_voiding_a_declined_payment_closes_it_without_asking_the_provider(make_payments):
    provider = FakeProvider("decline")
    payments = await make_payments(provider)
    with pytest.raises(DomainError):
        await payments.authorize(authorize_cmd())
    assert (await payments.void("pay-1")).status is Status.VOIDED
    assert provider.count("void") == 0


async def test_a_provider_failure_during_capture_leaves_the_payment_authorized(make_payments):
    payments, _ = await authorized(make_payments, "fail")
    with pytest.raises(DomainError) as caught:
        await payments.capture("pay-1")
    assert answer(caught.value).status == 503
    assert (await payments.store.get("pay-1")).status is Status.AUTHORIZED
    assert (await payments.capture("pay-1")).status is Status.CAPTURED


async def test_a_move_decided_on_a_stale_status_answers_from_the_stored_one(make_payments):
    payments, _ = await authorized(make_payments)
    stale = await payments.store.get("pay-1")
    await payments.capture("pay-1")
    # As if another instance had read the payment before this one captured it.
    assert (await payments._advance(stale, Action.CAPTURE)).status is Status.CAPTURED
    with pytest.raises(DomainError) as caught:
        await payments._advance(stale, Action.VOID)
    assert answer(caught.value).status == 409
    assert [e["kind"] for e in await payments.store.ledger("pay-1")] == [
        "authorized", "captured"]


def user(subject: str, *roles: str) -> Principal:
    return Principal(subject=subject, roles=frozenset({"customer", *roles}))


async def test_the_owner_sees_the_payments_of_an_order(make_payments):
    payments, _ = await authorized(make_payments)
    found = await payments.payments_of_order("order-1", user("user-1"))
    assert [p.id for p in found] == ["pay-1"]


async def test_another_users_order_lists_nothing_and_an_admin_sees_it(make_payments):
    payments, _ = await authorized(make_payments)
    assert await payments.payments_of_order("order-1", user("user-2")) == []  # as for none
    admin = await payments.payments_of_order("order-1", user("admin-1", "admin"))
    assert [p.id for p in admin] == ["pay-1"]


async def test_an_order_without_payments_lists_nothing(make_payments):
    payments, _ = await authorized(make_payments)
    assert await payments.payments_of_order("order-2", user("user-1")) == []
