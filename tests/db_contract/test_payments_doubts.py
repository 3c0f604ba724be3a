"""``DoubtRepository`` (services/payments/ports.py), held to one behaviour on SQLite,
PostgreSQL (doubt_store.py) and in memory (tests/support/memory/payments.py): a doubt
opened again starts over, only the doubt that was read is settled, and the due ones are
the open ones older than the grace, oldest first."""

from __future__ import annotations

import pytest

from mercato.services.payments.doubt_store import SqlDoubtRepository
from tests.support.memory.payments import MemoryDoubtRepository

SERVICE = "payments"  # the database the SQL adapter runs on (conftest ``contract_db``)

T1, T2, T3, T4 = (f"2026-12-06T08:00:0{n}+00:00" for n in range(1, 5))


@pytest.fixture
def doubts(where, contract_db):
    return MemoryDoubtRepository(contract_db) if where == "memory" else \
        SqlDoubtRepository(contract_db)


async def test_due_doubts_are_the_open_ones_opened_before_the_grace_oldest_first(doubts):
    await doubts.doubt("pay-b", "capture", T2)
    await doubts.doubt("pay-a", "authorize", T1)
    await doubts.doubt("pay-c", "void", T4)
    due = await doubts.due(T3, 10)
    assert [(d["payment_id"], d["action"]) for d in due] == [("pay-a", "authorize"),
                                                            ("pay-b", "capture")]
    assert [d["payment_id"] for d in await doubts.due(T3, 1)] == ["pay-a"]


async def test_a_settled_doubt_is_not_due_and_a_new_one_opens_it_again(doubts):
    await doubts.doubt("pay-a", "authorize", T1)
    assert await doubts.settle("pay-a", T1, "nothing-held", T2)
    assert await doubts.due(T4, 10) == []
    (row,) = await doubts.all()
    assert (row["outcome"], row["settled_at"]) == ("nothing-held", T2)
    await doubts.doubt("pay-a", "capture", T3)
    (row,) = await doubts.due(T4, 10)
    assert (row["action"], row["opened_at"], row["outcome"]) == ("capture", T3, None)


async def test_only_the_doubt_that_was_read_is_settled(doubts):
    await doubts.doubt("pay-a", "authorize", T1)
    await doubts.doubt("pay-a", "authorize", T2)  # a call timed out again meanwhile
    assert not await doubts.settle("pay-a", T1, "nothing-held", T3)
    assert not await doubts.settle("pay-b", T1, "nothing-held", T3)
    (row,) = await doubts.due(T4, 10)
    assert row["opened_at"] == T2
    assert await doubts.settle("pay-a", T2, "voided-late-authorization", T3)
    assert not await doubts.settle("pay-a", T2, "voided-late-authorization", T4)


async def test_a_postponed_doubt_goes_to_the_back_of_the_queue(doubts):
    await doubts.doubt("pay-a", "authorize", T1)
    await doubts.doubt("pay-b", "capture", T2)
    assert await doubts.postpone("pay-a", T1, T3)
    assert [d["payment_id"] for d in await doubts.due(T4, 10)] == ["pay-b", "pay-a"]
    assert [d["payment_id"] for d in await doubts.due(T3, 10)] == ["pay-b"]
    assert not await doubts.postpone("pay-a", T1, T4)  # not the one opened at T1 any more
    assert await doubts.settle("pay-b", T2, "nothing-held", T3)
    assert not await doubts.postpone("pay-b", T2, T4)  # settled: left as it is
