"""The in-memory database the handler tests run on (tests/support/memory) keeps SQLite's
promises: a failed transaction leaves nothing, another task's read waits for the running
transaction, and a read outside the transaction from inside it is refused (on SQLite it
would wait for itself forever)."""

import asyncio

import pytest

from tests.support.memory import MemoryDatabase
from tests.support.memory.cart import MemoryCartRepository

AT = "2026-12-06T08:00:00+00:00"


async def test_a_read_outside_the_transaction_from_inside_it_is_refused():
    repo = MemoryCartRepository(MemoryDatabase())
    with pytest.raises(AssertionError, match="waits for itself forever"):
        async with repo.db.transaction() as tx:
            await repo.open(tx, "u1", "USD", AT)
            await repo.get("u1")
    assert (await repo.get("u1")).currency is None  # and the transaction rolled back


async def test_another_tasks_read_waits_and_never_sees_a_rolled_back_write():
    repo = MemoryCartRepository(MemoryDatabase())
    seen = []

    async def reader() -> None:
        seen.append((await repo.get("u1")).currency)

    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.open(tx, "u1", "USD", AT)
            task = asyncio.create_task(reader())
            await asyncio.sleep(0.01)
            assert seen == []  # still waiting
            raise RuntimeError("refused after writing")
    await task
    assert seen == [None]
