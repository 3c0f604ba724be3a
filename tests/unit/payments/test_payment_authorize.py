"""Authorizing a payment: definitive answers are remembered, transient ones are not."""

import asyncio
from dataclasses import replace

import pytest

from mercato.chassis.errors import DomainError
from mercato.services.payments.domain import Status
from mercato.services.payments.provider import SimulatedProvider
from tests.unit.payments.payment_doubles import FakeProvider, answer, authorize_cmd, refused


async def test_an_approved_card_is_stored_as_authorized_with_a_ledger_entry(make_payments):
    provider = FakeProvider("approve")
    payments = await make_payments(provider)
    payment = await payments.authorize(authorize_cmd())
    assert payment.status is Status.AUTHORIZED
    assert payment.provider_reference == "fake_auth_pay-1"
    stored = await payments.store.get("pay-1")
    assert stored == payment
    ledger = await payments.store.ledger("pay-1")
    assert [(e["kind"], e["amount"], e["currency"]) for e in ledger] == [
        ("authorized", 2599, "USD")]


async def test_repeating_an_authorize_returns_the_first_payment_without_asking_again(
    make_payments,
):
    provider = FakeProvider("approve")
    payments = await make_payments(provider)
    first = await payments.authorize(authorize_cmd())
    again = await payments.authorize(authorize_cmd())
    assert again == first
    assert provider.count("authorize") == 1
    assert len(await payments.store.ledger("pay-1")) == 1


async def test_a_declined_card_is_stored_as_failed_and_every_repeat_gives_the_same_402(
    make_payments,
):
    provider = FakeProvider("decline", "approve")
    payments = await make_payments(provider)
    answers = []
    for _ in range(2):
        with pytest.raises(DomainError) as caught:
            await payments.authorize(authorize_cmd())
        answers.append((*refused(caught.value), answer(caught.value).detail))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (402, "payment-declined")
    assert provider.count("authorize") == 1
    assert (await payments.store.get("pay-1")).status is Status.FAILED
    assert [e["kind"] for e in await payments.store.ledger("pay-1")] == ["declined"]


async def test_a_provider_error_gives_a_503_and_a_retry_asks_the_provider_again(make_payments):
    provider = FakeProvider("fail", "approve")
    payments = await make_payments(provider)
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd())
    assert refused(caught.value) == (503, "provider-unavailable")
    assert answer(caught.value).retry_after == 1
    assert await payments.store.get("pay-1") is None
    payment = await payments.authorize(authorize_cmd())
    assert payment.status is Status.AUTHORIZED
    assert provider.count("authorize") == 2


async def test_a_provider_that_does_not_answer_in_time_gives_a_504_and_is_not_remembered(
    make_payments,
):
    provider = FakeProvider("hang", "approve")
    payments = await make_payments(provider, timeout=0.05)
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd())
    assert refused(caught.value) == (504, "provider-timeout")
    assert answer(caught.value).retry_after is None  # a 504 never said when
    assert await payments.store.get("pay-1") is None
    assert (await payments.authorize(authorize_cmd())).status is Status.AUTHORIZED


async def test_the_real_simulated_provider_maps_each_test_token_to_its_outcome(make_payments):
    payments = await make_payments(SimulatedProvider(latency=0, timeout=0.05), timeout=0.05)
    ok = await payments.authorize(authorize_cmd("p-ok", card_token="tok_ok"))
    assert ok.status is Status.AUTHORIZED
    outcomes = {}
    for token in ("tok_decline", "tok_error", "tok_slow", "tok_nonsense"):
        with pytest.raises(DomainError) as caught:
            await payments.authorize(authorize_cmd(f"p-{token}", card_token=token))
        outcomes[token] = refused(caught.value)
    assert outcomes == {
        "tok_decline": (402, "payment-declined"),
        "tok_error": (503, "provider-unavailable"),
        "tok_slow": (504, "provider-timeout"),
        "tok_nonsense": (402, "payment-declined"),
    }
    assert await payments.store.get("p-tok_error") is None
    assert await payments.store.get("p-tok_slow") is None


async def test_the_same_payment_id_for_another_amount_is_refused(make_payments):
    payments = await make_payments(FakeProvider())
    await payments.authorize(authorize_cmd())
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd(amount=1))
    assert refused(caught.value) == (422, "idempotency-mismatch")
    assert (await payments.store.get("pay-1")).amount == 2599


async def test_an_authorize_after_a_void_of_an_unknown_id_is_refused_as_already_cancelled(
    make_payments,
):
    provider = FakeProvider()
    payments = await make_payments(provider)
    assert await payments.void("pay-1") is None
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd())
    assert refused(caught.value) == (409, "already-cancelled")
    assert provider.count("authorize") == 0
    assert await payments.store.get("pay-1") is None


async def test_an_authorize_after_voiding_the_authorized_payment_is_refused(make_payments):
    payments = await make_payments(FakeProvider())
    await payments.authorize(authorize_cmd())
    await payments.void("pay-1")
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd())
    assert refused(caught.value) == (409, "already-cancelled")


async def test_a_void_arriving_while_the_provider_answers_wins_and_the_hold_is_released(
    make_payments,
):
    provider = FakeProvider()
    provider.gate = asyncio.Event()
    payments = await make_payments(provider)
    pending = asyncio.create_task(payments.authorize(authorize_cmd()))
    await asyncio.sleep(0.01)
    # A second handler set (another instance) shares the database but not the lock.
    assert await replace(payments).void("pay-1") is None
    provider.gate.set()
    with pytest.raises(DomainError) as caught:
        await pending
    assert answer(caught.value).kind == "already-cancelled"
    assert await payments.store.get("pay-1") is None
    assert ("void", "fake_auth_pay-1") in provider.calls


async def test_two_concurrent_authorizes_of_one_id_ask_the_provider_once(make_payments):
    provider = FakeProvider()
    provider.gate = asyncio.Event()
    payments = await make_payments(provider)
    tasks = [asyncio.create_task(payments.authorize(authorize_cmd())) for _ in range(3)]
    await asyncio.sleep(0.01)
    provider.gate.set()
    results = await asyncio.gather(*tasks)
    assert provider.count("authorize") == 1
    assert {r.id for r in results} == {"pay-1"}
    assert len(await payments.store.ledger("pay-1")) == 1


async def test_a_bad_amount_reaching_the_handler_is_a_422_and_the_provider_is_not_asked(
    make_payments,
):
    provider = FakeProvider()
    payments = await make_payments(provider)
    with pytest.raises(DomainError) as caught:
        await payments.authorize(authorize_cmd(amount=0))
    assert answer(caught.value).status == 422
    assert provider.calls == []
