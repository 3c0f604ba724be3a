"""The refund requests port of orders (services/orders/ports.py), held to one behaviour on
the SQL adapter (SQLite, PostgreSQL) and the in-memory fake (tests/support/memory/orders.py)."""

from __future__ import annotations

import pytest

from mercato.services.orders.adapters.refund_store import SqlRefundRequestRepository
from tests.support.memory.orders import MemoryRefundRequestRepository

SERVICE = "orders"
AT, LATER = "2026-12-07T08:00:00+00:00", "2026-12-07T09:00:00+00:00"


@pytest.fixture
def repo(where, contract_db):
    return (MemoryRefundRequestRepository if where == "memory"
            else SqlRefundRequestRepository)(contract_db)


async def test_a_request_is_recorded_once_and_open_until_closed(repo):
    async with repo.db.transaction() as tx:
        assert not await repo.is_open(tx, "o-1")
        assert await repo.add(tx, "o-1", "orchestration", AT)
        assert not await repo.add(tx, "o-1", "choreography", LATER)
        assert await repo.is_open(tx, "o-1")
    assert await repo.open_ones("orchestration", 10) == ["o-1"]
    assert await repo.open_ones("choreography", 10) == []
    async with repo.db.transaction() as tx:
        await repo.close(tx, "o-1", LATER)
        await repo.close(tx, "o-unknown", LATER)
        assert not await repo.is_open(tx, "o-1")
    assert await repo.open_ones("orchestration", 10) == []


async def test_open_requests_come_oldest_first_within_the_limit(repo):
    async with repo.db.transaction() as tx:
        await repo.add(tx, "o-2", "orchestration", LATER)
        await repo.add(tx, "o-1", "orchestration", AT)
        await repo.add(tx, "o-3", "orchestration", LATER)
    assert await repo.open_ones("orchestration", 2) == ["o-1", "o-2"]
