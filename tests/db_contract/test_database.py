"""The ``Database`` contract, the same tests on SQLite and on PostgreSQL (docs/production.md
§1): what services rely on, whichever adapter is under them."""

from __future__ import annotations

import asyncio

import pytest

from mercato.chassis.data import Conflict, TransactionLost

ITEMS = ("CREATE TABLE items (id TEXT PRIMARY KEY, sku TEXT NOT NULL, qty BIGINT NOT NULL,"
         " price DOUBLE PRECISION, note TEXT, blob BYTEA)")
INSERT = "INSERT INTO items (id, sku, qty) VALUES (?, ?, ?)"


async def setup(db, *statements: str) -> None:
    async with db.transaction() as tx:
        for sql in (ITEMS, "CREATE UNIQUE INDEX items_sku ON items (sku)", *statements):
            await tx.execute(sql)


async def ids(db) -> list[str]:
    return [r["id"] for r in await db.fetch_all("SELECT id FROM items ORDER BY id")]


async def test_rows_are_dicts_and_values_come_back_as_they_went_in(database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (id, sku, qty, price, note, blob)"
                         " VALUES (?, ?, ?, ?, ?, ?)", "a", "s-a", 3, 2.5, None, b"\x00\xff")
        assert await tx.fetch_one("SELECT id, qty FROM items WHERE id = ?", "a") == {
            "id": "a", "qty": 3}
    row = await database.fetch_one("SELECT * FROM items WHERE id = ?", "a")
    assert row == {"id": "a", "sku": "s-a", "qty": 3, "price": 2.5, "note": None,
                   "blob": b"\x00\xff"}
    assert type(row["qty"]) is int and type(row["price"]) is float
    assert await database.fetch_one("SELECT id FROM items WHERE id = ?", "zz") is None
    assert await database.fetch_all("SELECT id, sku FROM items") == [{"id": "a", "sku": "s-a"}]


async def test_execute_returns_the_rows_written(database):
    await setup(database)
    async with database.transaction() as tx:
        assert [await tx.execute(INSERT, i, f"s-{i}", 1) for i in "abc"] == [1, 1, 1]
        assert await tx.execute("UPDATE items SET qty = qty + 1 WHERE id <> ?", "a") == 2
        assert await tx.execute("UPDATE items SET qty = 0 WHERE id = ?", "none") == 0
        assert await tx.execute("DELETE FROM items WHERE id = ?", "c") == 1
        assert await tx.execute(INSERT + " ON CONFLICT (id) DO NOTHING", "a", "s-x", 1) == 0


async def test_a_question_mark_in_a_literal_an_identifier_or_a_comment_is_no_placeholder(
        database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (id, sku, qty, note) -- which? \n"
                         "VALUES (?, 'it''s ?', ?, /* why? */ ?)", "a", 2, "n?")
    row = await database.fetch_one('SELECT sku AS "sku?", note, ? AS got, \'?\' AS q'
                                   " FROM items WHERE id = ?", "x", "a")
    assert row == {"sku?": "it's ?", "note": "n?", "got": "x", "q": "?"}


async def test_callbacks_run_after_commit_and_never_after_a_rollback(database):
    await setup(database)
    ran: list[str] = []
    async with database.transaction() as tx:
        await tx.execute(INSERT, "a", "s-a", 1)
        tx.on_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(RuntimeError):
        async with database.transaction() as tx:
            tx.on_commit(lambda: ran.append("rolled back"))
            await tx.execute(INSERT, "b", "s-b", 1)
            raise RuntimeError("no")
    assert ran == ["committed"]
    assert await ids(database) == ["a"]
    async with database.transaction() as tx:  # as the consumer drops a failed handler's
        tx.on_commit(lambda: ran.append("kept"))
        kept = len(tx.after_commit)
        tx.after_commit.append(lambda: ran.append("dropped"))
        del tx.after_commit[kept:]
    assert ran == ["committed", "kept"]


async def test_a_duplicate_primary_key_or_unique_value_is_a_conflict(database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute(INSERT, "a", "s-a", 1)
    for clash in (("a", "s-other"), ("b", "s-a")):
        with pytest.raises(Conflict):
            async with database.transaction() as tx:
                await tx.execute(INSERT, *clash, 1)
    with pytest.raises(Conflict):
        async with database.transaction() as tx:
            await tx.execute_many(INSERT, [("c", "s-c", 1), ("d", "s-a", 1)])
    assert await ids(database) == ["a"]


async def test_only_a_unique_clash_is_a_conflict(database):
    await setup(database)
    with pytest.raises(Exception) as raised:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO items (id, sku, qty) VALUES (?, ?, NULL)", "a", "s")
    assert not isinstance(raised.value, Conflict)


async def test_the_transaction_goes_on_after_a_conflict_inside_a_savepoint(database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute(INSERT, "a", "s-a", 1)
        with pytest.raises(Conflict):
            async with tx.savepoint():
                await tx.execute(INSERT, "b", "s-b", 1)
                await tx.execute(INSERT, "a", "s-a2", 1)
        await tx.execute(INSERT, "c", "s-c", 1)
    assert await ids(database) == ["a", "c"]


async def test_a_savepoint_undoes_only_its_block(database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute(INSERT, "a", "s-a", 1)
        async with tx.savepoint("first"):
            await tx.execute(INSERT, "b", "s-b", 1)
        with pytest.raises(ValueError):
            async with tx.savepoint("second"):
                await tx.execute("UPDATE items SET qty = 9")
                await tx.execute(INSERT, "c", "s-c", 1)
                raise ValueError("undo")
        await tx.execute(INSERT, "d", "s-d", 1)
    assert await database.fetch_all("SELECT id, qty FROM items ORDER BY id") == [
        {"id": i, "qty": 1} for i in "abd"]


async def test_a_transaction_rolled_back_under_a_savepoint_is_lost(database):
    await setup(database)
    ran: list[str] = []
    with pytest.raises(TransactionLost) as lost:
        async with database.transaction() as tx:
            tx.on_commit(lambda: ran.append("x"))
            await tx.execute(INSERT, "a", "s-a", 1)
            async with tx.savepoint():
                await tx.execute("ROLLBACK")  # as when the database drops the transaction
                raise OSError("disk I/O error")
    assert isinstance(lost.value.__cause__, OSError)
    assert ran == [] and await ids(database) == []
    async with database.transaction() as tx:  # the handle goes on
        await tx.execute(INSERT, "b", "s-b", 1)
    assert await ids(database) == ["b"]


async def test_a_raising_block_rolls_back_everything(database):
    await setup(database)
    with pytest.raises(KeyError):
        async with database.transaction() as tx:
            await tx.execute(INSERT, "a", "s-a", 1)
            await tx.execute_many(INSERT, [("b", "s-b", 2), ("c", "s-c", 3)])
            assert len(await tx.fetch_all("SELECT id FROM items")) == 3
            raise KeyError("no")
    assert await ids(database) == []


async def test_execute_many_writes_each_row(database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute_many(INSERT, [(i, f"s-{i}", n) for n, i in enumerate("abc")])
    assert await database.fetch_all("SELECT id, qty FROM items ORDER BY id") == [
        {"id": "a", "qty": 0}, {"id": "b", "qty": 1}, {"id": "c", "qty": 2}]


async def test_ping_answers(database):
    await database.ping()


async def test_on_conflict_do_nothing_and_do_update_with_excluded(database):
    await setup(database)
    upsert = (INSERT + " ON CONFLICT (id) DO UPDATE SET qty = items.qty + excluded.qty,"
              " sku = excluded.sku")
    async with database.transaction() as tx:
        assert await tx.execute(upsert, "a", "s-1", 2) == 1
        assert await tx.execute(upsert, "a", "s-2", 5) == 1
        assert await tx.execute(INSERT + " ON CONFLICT DO NOTHING", "a", "s-3", 1) == 0
        assert await tx.execute(INSERT + " ON CONFLICT DO NOTHING", "b", "s-2", 1) == 0
    assert await database.fetch_all("SELECT id, sku, qty FROM items") == [
        {"id": "a", "sku": "s-2", "qty": 7}]


async def test_sum_and_avg_give_int_and_float(database):
    await setup(database)
    async with database.transaction() as tx:
        await tx.execute_many(INSERT, [("a", "s-a", 1), ("b", "s-b", 2)])
    row = await database.fetch_one(
        "SELECT SUM(qty) AS total, AVG(qty) AS mean, COUNT(*) AS n, MAX(qty) AS top FROM items")
    assert row == {"total": 3, "mean": 1.5, "n": 2, "top": 2}
    assert [type(row[k]) for k in ("total", "mean", "n", "top")] == [int, float, int, int]


async def test_a_lock_serialises_read_then_write_across_handles(database, open_handle):
    await setup(database, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
                "INSERT INTO counter (id, n) VALUES (1, 0)")
    other = await open_handle()

    async def increment(db) -> None:
        for _ in range(3):
            async with db.transaction() as tx:
                await tx.lock("counter:1")
                row = await tx.fetch_one("SELECT n FROM counter WHERE id = ?", 1)
                await asyncio.sleep(0.02)  # the other writer runs meanwhile, if it may
                await tx.execute("UPDATE counter SET n = ? WHERE id = ?", row["n"] + 1, 1)

    await asyncio.gather(increment(database), increment(other))
    assert await other.fetch_one("SELECT n FROM counter") == {"n": 6}
