"""The loyalty ledger port (services/loyalty/ports.py), held to one behaviour on every
implementation: the SQL adapter on SQLite and on PostgreSQL, and the in-memory fake the
handlers' unit tests run on (tests/support/memory/loyalty.py)."""

from __future__ import annotations

import pytest

from mercato.services.loyalty.domain import Entry, Kind
from mercato.services.loyalty.store import SqlLedgerRepository
from tests.support.memory.loyalty import MemoryLedgerRepository

SERVICE = "loyalty"  # the database the SQL adapter runs on (conftest ``contract_db``)
AT = "2026-12-07T08:00:00.000000+00:00"


@pytest.fixture
def repo(where, contract_db):
    return (MemoryLedgerRepository if where == "memory" else SqlLedgerRepository)(contract_db)


def entry(order: str, kind: Kind = Kind.CREDIT, points: int = 19, customer: str = "ada",
          event: str = "e-1", note: str = "") -> Entry:
    return Entry(customer, order, event, kind, points, AT, note)


async def test_an_empty_ledger_has_no_entries_and_a_zero_balance(repo):
    async with repo.db.transaction() as tx:
        assert await repo.of_order(tx, "o-1") == []
        assert await repo.standing(tx, "ada") == (0, 0)
    assert await repo.history("ada", 10) == []
    assert await repo.balance_of("ada") == 0
    assert await repo.summaries() == []


async def test_one_entry_per_order_and_kind_whatever_the_event_id(repo):
    async with repo.db.transaction() as tx:
        assert await repo.add(tx, entry("o-1", event="e-1"))
        assert not await repo.add(tx, entry("o-1", event="e-2", points=99))
        assert await repo.add(tx, entry("o-1", Kind.REVERSAL, -19, event="e-3",
                                        note="refunded"))
    async with repo.db.transaction() as tx:
        assert await repo.of_order(tx, "o-1") == [
            entry("o-1", event="e-1"), entry("o-1", Kind.REVERSAL, -19, event="e-3",
                                             note="refunded")]
        assert await repo.standing(tx, "ada") == (0, 2)
    assert await repo.summaries() == [{"order_id": "o-1", "kind": "credit", "points": 19},
                                      {"order_id": "o-1", "kind": "reversal", "points": -19}]


async def test_the_balance_is_the_sum_of_the_customers_own_entries(repo):
    async with repo.db.transaction() as tx:
        await repo.add(tx, entry("o-1", points=19))
        await repo.add(tx, entry("o-2", points=5))
        await repo.add(tx, entry("o-3", points=700, customer="bob"))
        assert await repo.standing(tx, "ada") == (24, 2)
    assert await repo.balance_of("ada") == 24
    assert await repo.balance_of("bob") == 700


async def test_history_is_newest_first_and_pages_by_cursor(repo):
    async with repo.db.transaction() as tx:
        for n in range(5):
            await repo.add(tx, entry(f"o-{n}", points=n))
        await repo.add(tx, entry("o-x", customer="bob"))
    first = await repo.history("ada", 2)
    assert [e.order_id for _, e in first] == ["o-4", "o-3"]
    second = await repo.history("ada", 2, before=first[-1][0])
    assert [e.order_id for _, e in second] == ["o-2", "o-1"]
    last = await repo.history("ada", 2, before=second[-1][0])
    assert [e.order_id for _, e in last] == ["o-0"]


async def test_a_rolled_back_transaction_leaves_no_entry(repo):
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.add(tx, entry("o-1"))
            raise RuntimeError("the handler failed")
    assert await repo.balance_of("ada") == 0
