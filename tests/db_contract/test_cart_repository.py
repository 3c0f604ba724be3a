"""The cart's repository port (services/cart/ports.py), held to one behaviour on every
implementation: the SQL adapter on SQLite and on PostgreSQL, and the in-memory fake the
handlers' unit tests run on (tests/support/memory/cart.py)."""

from __future__ import annotations

import asyncio

import pytest

from mercato.services.cart.domain import CartLine
from mercato.services.cart.store import SqlCartRepository
from tests.support.memory.cart import MemoryCartRepository

SERVICE = "cart"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-12-06T08:00:00+00:00"


@pytest.fixture
def repo(where, contract_db):
    return (MemoryCartRepository if where == "memory" else SqlCartRepository)(contract_db)


async def put(repo, user: str, *lines: tuple[str, int], currency: str = "USD") -> None:
    async with repo.db.transaction() as tx:
        if (await repo.get(user, tx)).currency is None:
            await repo.open(tx, user, currency, AT)
        for product, quantity in lines:
            await repo.put_line(tx, user, product, quantity, AT)


async def test_a_user_without_a_cart_has_an_empty_one_without_currency(repo):
    cart = await repo.get("u1")
    assert (cart.user_id, cart.currency, cart.lines) == ("u1", None, ())


async def test_lines_keep_the_order_they_were_first_added_in(repo):
    await put(repo, "u1", ("tea", 1), ("mug", 2))
    await put(repo, "u1", ("tea", 5), ("book", 1))
    cart = await repo.get("u1")
    assert cart.currency == "USD"
    assert cart.lines == (CartLine("tea", 5), CartLine("mug", 2), CartLine("book", 1))


async def test_the_last_line_removed_takes_the_cart_and_its_currency_with_it(repo):
    await put(repo, "u1", ("tea", 1), ("mug", 2))
    async with repo.db.transaction() as tx:
        await repo.remove_line(tx, "u1", "tea", AT)
    assert (await repo.get("u1")).lines == (CartLine("mug", 2),)
    async with repo.db.transaction() as tx:
        await repo.remove_line(tx, "u1", "mug", AT)
        await repo.remove_line(tx, "u1", "never-there", AT)
    assert (await repo.get("u1")).currency is None
    await put(repo, "u1", ("book", 1), currency="EUR")
    assert (await repo.get("u1")).currency == "EUR"


async def test_clearing_empties_one_users_cart_only(repo):
    await put(repo, "u1", ("tea", 1))
    await put(repo, "u2", ("mug", 3))
    async with repo.db.transaction() as tx:
        await repo.clear(tx, "u1")
        await repo.clear(tx, "nobody")
    assert (await repo.get("u1")).lines == ()
    assert (await repo.get("u2")).lines == (CartLine("mug", 3),)


async def test_a_transaction_that_fails_leaves_nothing_behind(repo):
    await put(repo, "u1", ("tea", 1))
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.put_line(tx, "u1", "tea", 9, AT)
            await repo.open(tx, "u2", "USD", AT)
            await repo.put_line(tx, "u2", "mug", 1, AT)
            assert (await repo.get("u1", tx)).lines == (CartLine("tea", 9),)  # seen inside
            raise RuntimeError("the handler refused after writing")
    assert (await repo.get("u1")).lines == (CartLine("tea", 1),)
    assert (await repo.get("u2")).currency is None


async def test_another_task_never_sees_a_write_before_its_transaction_commits(repo):
    """SQLite's reader waits for the writer, PostgreSQL's reads the last commit, the fake
    waits as SQLite does: whichever, an uncommitted line is never seen."""
    committed = False
    seen: list[tuple[bool, tuple]] = []

    async def reader() -> None:
        lines = (await repo.get("u1")).lines
        seen.append((committed, lines))

    async with repo.db.transaction() as tx:
        await repo.open(tx, "u1", "USD", AT)
        await repo.put_line(tx, "u1", "tea", 1, AT)
        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        committed = True
    await task
    [(after_commit, lines)] = seen
    assert lines == ((CartLine("tea", 1),) if after_commit else ())
