"""Payments under two concurrent writers of one payment id, on both backends
(docs/production.md §1).

Two handles on one migrated payments database, as two replicas would hold: on SQLite two
connections to one file (``BEGIN IMMEDIATE``: one writer at a time), on PostgreSQL two
pools (READ COMMITTED: what keeps them apart is the ``payment:<id>`` lock the store takes).
Every read inside a transaction is followed by a pause (``kit.WINDOW``), so that without the
lock both writers would read "nothing there" before either writes.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mercato.chassis.data import Database
from mercato.services.payments.domain import Payment, Status
from mercato.services.payments.ports import Tombstoned
from mercato.services.payments.store import SqlPaymentRepository
from tests.db_contract import kit

SERVICE = "payments"  # the database conftest ``service_db_url`` names

AT = "2026-03-01T09:00:00.000000+00:00"


def lingering(db: Database):
    """A transaction on ``db`` whose reads linger."""
    return kit.LingeringDatabase(db).transaction()


@pytest.fixture
async def two(service_db_url, tmp_path):
    """Two repositories on one migrated payments database, each through its own handle."""
    ids = (f"ev-{n}" for n in itertools.count())
    async with kit.handles(SERVICE, service_db_url, tmp_path) as opened:
        yield [SqlPaymentRepository(db, lambda: next(ids)) for db in opened]


def payment(reference: str) -> Payment:
    return Payment(id="pay-1", order_id="order-1", customer_id="alice", amount=1299,
                   currency="USD", status=Status.AUTHORIZED, provider_reference=reference,
                   failure_reason=None, created_at=AT, updated_at=AT)


async def count(store: SqlPaymentRepository, sql: str) -> int:
    row = await store.db.fetch_one(sql)
    assert row is not None
    return int(row["n"])


async def test_one_payment_id_added_twice_at_once_is_one_payment_and_a_replay(two):
    async def add(store: SqlPaymentRepository, reference: str) -> tuple[Payment, bool]:
        async with lingering(store.db) as tx:
            return await store.add(tx, payment(reference), "authorized")

    (first, made_1), (second, made_2) = await asyncio.gather(
        add(two[0], "ref-a"), add(two[1], "ref-b"))
    assert sorted([made_1, made_2]) == [False, True]
    assert first.provider_reference == second.provider_reference  # the replay: the stored one
    assert await count(two[0], "SELECT COUNT(*) AS n FROM payments") == 1
    assert await count(two[0], "SELECT COUNT(*) AS n FROM payment_events") == 1


async def test_a_tombstone_racing_an_add_never_leaves_both(two):
    for attempt in range(4):  # either may start first: both orders, a few times
        store_add, store_void = (two[0], two[1]) if attempt % 2 else (two[1], two[0])

        async def add(store_add: SqlPaymentRepository = store_add) -> str:
            try:
                async with lingering(store_add.db) as tx:
                    await store_add.add(tx, payment("ref-a"), "authorized")
            except Tombstoned:
                return "tombstoned"
            return "added"

        async def void(store_void: SqlPaymentRepository = store_void) -> str:
            async with lingering(store_void.db) as tx:
                found = await store_void.tombstone(tx, "pay-1", AT)
            return "tombstone" if found is None else "found"

        outcome = sorted(await asyncio.gather(add(), void()))
        assert outcome in (["added", "found"], ["tombstone", "tombstoned"])
        payments = await count(two[0], "SELECT COUNT(*) AS n FROM payments")
        tombstones = await count(two[0], "SELECT COUNT(*) AS n FROM payment_tombstones")
        assert payments + tombstones == 1, (payments, tombstones)
        for store in two[:1]:
            async with store.db.transaction() as tx:
                for table in ("payment_events", "payments", "payment_tombstones"):
                    await tx.execute(f"DELETE FROM {table}")
