"""F9 on the SQLite adapter: a write lock held by another process past the busy timeout
and a full disk are refused cleanly (``DatabaseBusy`` / ``DatabaseFull``, nothing of the
transaction kept), without holding up this process's reads meanwhile, and the database is
usable again afterwards. The disk is filled with ``PRAGMA max_page_count``, which makes
SQLite answer exactly as it does on a full filesystem (SQLITE_FULL)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from mercato.chassis.data.db import DatabaseBusy, DatabaseFull, DatabaseUnavailable, SqliteDatabase


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "svc.db"
    with sqlite3.connect(file) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        conn.execute("INSERT INTO rows (id, body) VALUES (1, 'first')")
    return file


def locker(path) -> sqlite3.Connection:
    """The chaos fault's connection: the write lock taken and held, nothing written."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


async def write_two(db: SqliteDatabase, first: int, body: str = "x") -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO rows (id, body) VALUES (?, ?)", first, body)
        await tx.execute("INSERT INTO rows (id, body) VALUES (?, ?)", first + 1, body)


async def count(db: SqliteDatabase) -> int:
    return (await db.fetch_one("SELECT count(*) AS n FROM rows"))["n"]


async def test_reads_go_on_while_a_transaction_of_the_same_process_waits_for_the_lock(path):
    db = SqliteDatabase(path, busy_timeout_ms=10_000)
    other = locker(path)
    try:
        waiting = asyncio.create_task(write_two(db, 10))
        while db.busy_retries == 0:  # noqa: ASYNC110 (until it waits for the other's lock)
            await asyncio.sleep(0.01)
        assert await count(db) == 1  # a read is not queued behind it...
        assert not waiting.done()  # ...which is still waiting
        other.execute("ROLLBACK")
        await waiting
        assert await count(db) == 3
    finally:
        other.close()
        await db.close()


async def test_a_lock_held_too_long_is_busy_with_its_cause_and_nothing_is_kept(path):
    db = SqliteDatabase(path, busy_timeout_ms=100)
    other = locker(path)
    try:
        with pytest.raises(DatabaseBusy) as caught:
            await write_two(db, 10)
        assert isinstance(caught.value, DatabaseUnavailable) and caught.value.cause == "locked"
        other.execute("ROLLBACK")
        await write_two(db, 20)  # the lock gone, writes work again
        rows = await db.fetch_all("SELECT id FROM rows ORDER BY id")
        assert [r["id"] for r in rows] == [1, 20, 21]
    finally:
        other.close()
        await db.close()


async def test_a_full_disk_refuses_the_write_whole_keeps_reads_and_recovers(path):
    db = SqliteDatabase(path)
    pages = (await db.fetch_one("PRAGMA page_count"))["page_count"]
    await db.fetch_one(f"PRAGMA max_page_count = {pages}")  # no page more: the disk is full
    try:
        with pytest.raises(DatabaseFull) as caught:
            await write_two(db, 10, body="y" * 20_000)  # needs new pages
        assert caught.value.cause == "disk-full" and "svc.db" in str(caught.value)
        assert await count(db) == 1  # nothing half-written; reads still work
        await db.fetch_one(f"PRAGMA max_page_count = {pages * 100}")  # space freed
        await write_two(db, 10, body="y" * 20_000)
        assert await count(db) == 3
    finally:
        await db.close()
