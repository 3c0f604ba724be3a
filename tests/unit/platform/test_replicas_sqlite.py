"""Replicas share their service's SQLite file: a connection that meets another one's write
lock waits for it asynchronously (the event loop keeps serving), and gives up with a clear
error after its bound. (The adapter is chassis/data/db.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from mercato.chassis.data.db import DatabaseBusy, SqliteDatabase


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "shared.db"
    with sqlite3.connect(file) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
    return file


def other_process_writing(path) -> sqlite3.Connection:
    """Another instance's connection, in the middle of a write transaction."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
    return other


async def increment(db: SqliteDatabase) -> int:
    async with db.transaction() as tx:
        await tx.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        return (await tx.fetch_one("SELECT n FROM counter WHERE id = 1"))["n"]


async def test_a_transaction_waits_for_another_connections_write_lock_without_blocking_the_loop(
        path):
    db = SqliteDatabase(path)
    other = other_process_writing(path)
    ticks = 0
    committed = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not committed.is_set():
            ticks += 1
            if ticks == 20:  # the loop is alive while the transaction waits: let it go
                other.execute("COMMIT")
                committed.set()
            await asyncio.sleep(0.001)

    try:
        value, _ = await asyncio.gather(increment(db), ticker())
    finally:
        other.close()
        await db.close()
    assert value == 101  # it ran after the other commit, on top of it
    assert ticks >= 20
    assert db.busy_retries > 0


async def test_a_read_outside_a_transaction_is_not_held_up_by_another_writer(path):
    db = SqliteDatabase(path)
    other = other_process_writing(path)
    try:
        row = await db.fetch_one("SELECT n FROM counter WHERE id = 1")
    finally:
        other.execute("ROLLBACK")
        other.close()
        await db.close()
    assert row == {"n": 0}  # WAL: the last committed value, no waiting
    assert db.busy_retries == 0


async def test_a_lock_held_past_the_bound_fails_clearly_and_writes_nothing(path):
    db = SqliteDatabase(path, busy_timeout_ms=50)
    other = other_process_writing(path)
    try:
        with pytest.raises(DatabaseBusy, match=r"shared\.db stayed locked by another process"):
            await increment(db)
        other.execute("ROLLBACK")
        assert await increment(db) == 1  # usable again once the lock is gone
    finally:
        other.close()
        await db.close()


def test_instances_on_separate_loops_incrementing_together_lose_no_update(path):
    """Four instances, each with its own event loop and connection, 50 increments each:
    every transaction waits its turn instead of failing or overwriting another."""
    errors: list[BaseException] = []

    def instance() -> None:
        async def run() -> None:
            db = SqliteDatabase(path, busy_timeout_ms=30_000)
            try:
                for _ in range(50):
                    await increment(db)
            finally:
                await db.close()

        try:
            asyncio.run(run())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=instance) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT n FROM counter WHERE id = 1").fetchone() == (200,)


def test_another_error_than_a_locked_database_is_raised_at_once(path):
    async def run():
        db = SqliteDatabase(path)
        try:
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                await db.fetch_one("SELECT * FROM missing")
            return db.busy_retries
        finally:
            await db.close()

    assert asyncio.run(run()) == 0
