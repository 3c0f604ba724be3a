"""Payments' repository ports (services/payments/ports.py), held to one behaviour on every
implementation: the SQL adapters (store.py, intents.py) on SQLite and on PostgreSQL, and
the in-memory fakes the handlers' unit tests run on (tests/support/memory/payments.py).
Two writers of one payment id at once: test_payments_concurrency.py."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from mercato.contracts.orders import OrderLine, OrderPlaced
from mercato.services.payments.domain import Payment, Status
from mercato.services.payments.intents import SqlIntentRepository
from mercato.services.payments.ports import StaleStatus, Tombstoned
from mercato.services.payments.store import SqlPaymentRepository
from tests.support.memory.payments import MemoryIntentRepository, MemoryPaymentRepository

SERVICE = "payments"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-12-06T08:00:00+00:00"
LATER = "2026-12-06T09:00:00+00:00"


@pytest.fixture
def db(contract_db):
    return contract_db


@pytest.fixture
def payments(where, db):
    if where == "memory":
        return MemoryPaymentRepository(db)
    ids = (f"entry-{n}" for n in itertools.count())
    return SqlPaymentRepository(db, lambda: next(ids))


@pytest.fixture
def intents(where, db):
    return MemoryIntentRepository(db) if where == "memory" else SqlIntentRepository(db)


def payment(pid: str = "pay-1", *, order: str = "order-1", at: str = AT,
            status: Status = Status.AUTHORIZED, reason: str | None = None) -> Payment:
    return Payment(id=pid, order_id=order, customer_id="alice", amount=1299, currency="USD",
                   status=status, provider_reference=None if reason else f"ref-{pid}",
                   failure_reason=reason, created_at=at, updated_at=at)


async def add(repo, *stored: Payment) -> list[tuple[Payment, bool]]:
    async with repo.db.transaction() as tx:
        return [await repo.add(tx, p, "declined" if p.failure_reason else "authorized")
                for p in stored]


async def test_an_added_payment_is_read_back_with_its_first_ledger_entry(payments):
    approved, declined = payment("pay-1"), payment("pay-2", status=Status.FAILED, reason="no")
    assert await add(payments, approved, declined) == [(approved, True), (declined, True)]
    assert (await payments.get("pay-1"), await payments.get("pay-2")) == (approved, declined)
    assert await payments.ledger("pay-1") == [
        {"kind": "authorized", "amount": 1299, "currency": "USD",
         "provider_reference": "ref-pay-1", "detail": None, "created_at": AT}]
    assert [(e["kind"], e["detail"]) for e in await payments.ledger("pay-2")] == [
        ("declined", "no")]
    assert (await payments.get("nope"), await payments.ledger("nope")) == (None, [])


async def test_adding_a_stored_id_again_answers_the_first_payment_and_writes_nothing(payments):
    first = payment()
    await add(payments, first)
    again = payment(at=LATER, status=Status.FAILED, reason="declined")
    assert await add(payments, again) == [(first, False)]
    assert await payments.get("pay-1") == first
    assert [e["kind"] for e in await payments.ledger("pay-1")] == ["authorized"]


async def test_an_id_voided_before_it_was_stored_can_never_be_added(payments):
    async with payments.db.transaction() as tx:
        assert await payments.tombstone(tx, "pay-1", AT) is None
        assert await payments.tombstone(tx, "pay-1", LATER) is None  # again: nothing
    assert await payments.is_tombstoned("pay-1")
    assert not await payments.is_tombstoned("pay-2")
    with pytest.raises(Tombstoned):
        await add(payments, payment("pay-1"))
    assert (await payments.get("pay-1"), await payments.ledger("pay-1")) == (None, [])


async def test_tombstoning_a_stored_payment_answers_it_and_leaves_no_tombstone(payments):
    stored = payment()
    await add(payments, stored)
    async with payments.db.transaction() as tx:
        assert await payments.tombstone(tx, "pay-1", LATER) == stored
    assert not await payments.is_tombstoned("pay-1")


async def test_a_move_from_the_stored_status_writes_it_and_a_ledger_entry(payments):
    before = payment()
    await add(payments, before)
    after = replace(before, status=Status.CAPTURED, updated_at=LATER)
    async with payments.db.transaction() as tx:
        await payments.move(tx, before, after, "captured")
    assert await payments.get("pay-1") == after
    assert [(e["kind"], e["detail"], e["created_at"], e["provider_reference"])
            for e in await payments.ledger("pay-1")] == [
        ("authorized", None, AT, "ref-pay-1"), ("captured", None, LATER, "ref-pay-1")]


async def test_a_move_decided_on_a_stale_status_is_refused_and_writes_nothing(payments):
    read = payment()
    await add(payments, read)
    captured = replace(read, status=Status.CAPTURED, updated_at=LATER)
    async with payments.db.transaction() as tx:
        await payments.move(tx, read, captured, "captured")
    with pytest.raises(StaleStatus):
        async with payments.db.transaction() as tx:
            await payments.move(tx, read, replace(read, status=Status.VOIDED), "voided")
    with pytest.raises(StaleStatus):
        async with payments.db.transaction() as tx:
            unknown = payment("pay-9")
            await payments.move(tx, unknown, replace(unknown, status=Status.VOIDED), "voided")
    assert await payments.get("pay-1") == captured
    assert [e["kind"] for e in await payments.ledger("pay-1")] == ["authorized", "captured"]
    assert await payments.get("pay-9") is None


async def test_an_orders_payments_and_the_summaries_are_oldest_first_then_by_id(payments):
    await add(payments, payment("pay-c", at=LATER), payment("pay-b"),
              payment("pay-x", order="order-2", at=LATER), payment("pay-a"))
    assert [p.id for p in await payments.for_order("order-1")] == ["pay-a", "pay-b", "pay-c"]
    assert await payments.for_order("order-3") == []
    assert await payments.summaries() == [
        {"payment_id": pid, "order_id": order, "status": "authorized", "amount": 1299,
         "currency": "USD"}
        for pid, order in [("pay-a", "order-1"), ("pay-b", "order-1"),
                           ("pay-c", "order-1"), ("pay-x", "order-2")]]


async def test_a_transaction_that_fails_leaves_nothing_behind(payments):
    kept = payment()
    await add(payments, kept)
    with pytest.raises(RuntimeError):
        async with payments.db.transaction() as tx:
            await payments.add(tx, payment("pay-2"), "authorized")
            await payments.move(tx, kept, replace(kept, status=Status.VOIDED), "voided")
            await payments.tombstone(tx, "pay-3", AT)
            raise RuntimeError("the outbox failed after the writes")
    assert await payments.get("pay-1") == kept
    assert [e["kind"] for e in await payments.ledger("pay-1")] == ["authorized"]
    assert (await payments.get("pay-2"), await payments.ledger("pay-2")) == (None, [])
    assert not await payments.is_tombstoned("pay-3")
    assert await payments.summaries() == [{"payment_id": "pay-1", "order_id": "order-1",
                                           "status": "authorized", "amount": 1299,
                                           "currency": "USD"}]


def placed(order: str = "order-1", total: int = 2599, token: str | None = "sealed-1",
           checkout: str = "choreography") -> OrderPlaced:
    return OrderPlaced(order_id=order, customer_id="alice", total=total, currency="EUR",
                       items=[OrderLine(product_id="p1", quantity=1, unit_price=total)],
                       sealed_card_token=token, checkout=checkout)


async def test_the_first_order_placed_of_an_order_is_the_intent_kept(intents):
    await intents.remember(placed(), AT)
    await intents.remember(placed(total=1, token="sealed-2", checkout="orchestration"), LATER)
    await intents.remember(placed("order-2", token=None, checkout="orchestration"), AT)
    assert await intents.get("order-1") == {
        "order_id": "order-1", "customer_id": "alice", "amount": 2599, "currency": "EUR",
        "sealed_card_token": "sealed-1", "checkout": "choreography"}
    assert (await intents.get("order-2"))["sealed_card_token"] == ""
    assert await intents.get("order-3") is None


async def test_forgetting_the_card_empties_that_orders_token_only(intents):
    await intents.remember(placed(), AT)
    await intents.remember(placed("order-2", token="sealed-2"), AT)
    await intents.forget_card("order-1")
    await intents.forget_card("order-3")
    forgotten = await intents.get("order-1")
    assert (forgotten["sealed_card_token"], forgotten["amount"]) == ("", 2599)
    assert (await intents.get("order-2"))["sealed_card_token"] == "sealed-2"
    assert await intents.get("order-3") is None
