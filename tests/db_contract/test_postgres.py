"""What only the PostgreSQL adapter has: the placeholder rewrite, the service database's
URL and creation, its spans, its pool, a lost connection, NUMERIC values."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from mercato.chassis.data import (
    DatabaseUnavailable,
    PostgresDatabase,
    TransactionLost,
    ensure_database,
    service_database_url,
)
from mercato.chassis.data.postgres import _rowcount, dollar_placeholders
from tests.db_contract.conftest import SERVER_URL, _admin

test_tracer = trace.get_tracer("tests")


@pytest.fixture
async def pg(pg_database):
    db = await PostgresDatabase.open(pg_database, max_size=2)
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
    yield db
    await db.close()


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT ?", "SELECT $1"),
    ("UPDATE t SET a = ?, b = ? WHERE c = ?", "UPDATE t SET a = $1, b = $2 WHERE c = $3"),
    ("SELECT 'a?', ? FROM t", "SELECT 'a?', $1 FROM t"),
    ("SELECT 'it''s?', ?", "SELECT 'it''s?', $1"),
    ('SELECT "odd?col" FROM t WHERE x = ?', 'SELECT "odd?col" FROM t WHERE x = $1'),
    ("SELECT ? -- really?\n, ?", "SELECT $1 -- really?\n, $2"),
    ("SELECT /* a ? b\n ? */ ?", "SELECT /* a ? b\n ? */ $1"),
    ("SELECT 1", "SELECT 1"),
])
def test_question_marks_become_numbered_placeholders_outside_quotes_and_comments(sql, expected):
    assert dollar_placeholders(sql) == expected


@pytest.mark.parametrize(("status", "count"), [
    ("INSERT 0 1", 1), ("UPDATE 3", 3), ("DELETE 0", 0), ("SELECT 12", 12),
    ("CREATE TABLE", 0), ("BEGIN", 0)])
def test_the_row_count_is_read_from_the_command_status(status, count):
    assert _rowcount(status) == count


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://mercato@db:5432", "postgresql://mercato@db:5432/mercato_orders"),
    ("postgresql://mercato@db:5432/", "postgresql://mercato@db:5432/mercato_orders"),
    ("postgresql://m:p%40ss@db/?sslmode=require",
     "postgresql://m:p%40ss@db/mercato_orders?sslmode=require"),
    ("postgresql://mercato@db:5432/shop", "postgresql://mercato@db:5432/shop"),
])
def test_a_url_without_a_database_gets_the_services_own(url, expected):
    assert service_database_url(url, "orders") == expected


async def test_ensure_database_creates_it_once_even_with_concurrent_creators():
    name = f"mercato_t_{uuid.uuid4().hex[:12]}"
    url = service_database_url(SERVER_URL, "x").rsplit("/", 1)[0] + "/" + name
    try:
        await asyncio.gather(*(ensure_database(SERVER_URL, name) for _ in range(3)))
        await ensure_database(url, name)  # a URL naming the database itself: no change
        db = await PostgresDatabase.open(url)
        assert db.name == name
        assert await db.fetch_one("SELECT datcollate FROM pg_database WHERE datname = ?",
                                  name) == {"datcollate": "C"}
        assert await db.fetch_one("SELECT 'a' < 'B' AS lower_first") == {"lower_first": False}
        await db.ping()
        await db.close()
    finally:
        admin = await _admin()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Checkout:
    def __init__(self, db) -> None:
        self.db = db

    async def place(self, fail: bool = False) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO t (id, n) VALUES (?, ?)", uuid.uuid4().hex, 1)
            if fail:
                raise ValueError("declined")


async def test_a_transaction_is_a_span_named_after_its_caller(pg, spans):
    await Checkout(pg).place()  # outside a trace: none
    with test_tracer.start_as_current_span("request"):
        await Checkout(pg).place()
        with pytest.raises(ValueError):
            await Checkout(pg).place(fail=True)
        async with pg.transaction(traced=False) as tx:
            await tx.execute("SELECT 1")
    ok, failed, request = spans.get_finished_spans()
    assert ok.name == failed.name == "transaction Checkout.place"
    assert ok.parent.span_id == request.context.span_id
    assert ok.attributes["db.system.name"] == "postgresql"
    assert ok.attributes["db.namespace"] == pg.name
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "rolled back: ValueError"


async def test_numeric_values_come_back_as_int_or_float(pg):
    row = await pg.fetch_one("SELECT CAST(7 AS NUMERIC) AS whole, CAST(2.50 AS NUMERIC) AS part,"
                             " CAST(? AS NUMERIC) AS given, SUM(n) AS total FROM t", 1.25)
    assert row == {"whole": 7, "part": 2.5, "given": 1.25, "total": None}
    assert type(row["whole"]) is int


async def test_without_the_lock_read_committed_loses_an_update(pg):
    """What ``tx.lock`` is for (the contract suite shows it works on both backends)."""
    await pg.fetch_one("INSERT INTO t (id, n) VALUES ('c', 0) RETURNING n")

    async def increment() -> None:
        async with pg.transaction() as tx:
            row = await tx.fetch_one("SELECT n FROM t WHERE id = 'c'")
            await asyncio.sleep(0.05)
            await tx.execute("UPDATE t SET n = ? WHERE id = 'c'", row["n"] + 1)

    await asyncio.gather(increment(), increment())
    assert await pg.fetch_one("SELECT n FROM t") == {"n": 1}


async def test_more_transactions_than_connections_wait_for_one(pg):
    async def write(i: int) -> None:
        async with pg.transaction() as tx:
            await tx.execute("INSERT INTO t (id, n) VALUES (?, ?)", str(i), i)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(write(i) for i in range(8)))  # pool of 2
    assert await pg.fetch_one("SELECT COUNT(*) AS n FROM t") == {"n": 8}


async def kill_backend_of(tx, other) -> None:
    pid = (await tx.fetch_one("SELECT pg_backend_pid() AS pid"))["pid"]
    assert (await other.fetch_one("SELECT pg_terminate_backend(?) AS ok", pid))["ok"]


async def test_a_lost_connection_is_database_unavailable_and_the_pool_goes_on(pg,
                                                                            pg_database):
    other = await PostgresDatabase.open(pg_database, max_size=1)
    ran: list[int] = []
    try:
        with pytest.raises(DatabaseUnavailable):
            async with pg.transaction() as tx:
                tx.on_commit(lambda: ran.append(1))
                await tx.execute("INSERT INTO t (id, n) VALUES ('a', 1)")
                await kill_backend_of(tx, other)
                await tx.execute("INSERT INTO t (id, n) VALUES ('b', 1)")
        with pytest.raises(TransactionLost):
            async with pg.transaction() as tx:
                async with tx.savepoint():
                    await kill_backend_of(tx, other)
                    await tx.execute("INSERT INTO t (id, n) VALUES ('c', 1)")
    finally:
        await other.close()
    assert ran == []
    for _ in range(3):  # every pooled connection is a working one again
        async with pg.transaction() as tx:
            await tx.execute("INSERT INTO t (id, n) VALUES (?, 1)", uuid.uuid4().hex)
    assert await pg.fetch_one("SELECT COUNT(*) AS n FROM t WHERE id IN ('a', 'b', 'c')") == {
        "n": 0}


async def test_a_connection_that_died_idle_in_the_pool_is_replaced_unnoticed(pg, pg_database):
    for work in ("transaction", "read"):
        await asyncio.gather(*(pg.ping() for _ in range(4)))  # both pooled connections
        admin = await _admin()  # kills them while this loop does not look
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = $1", pg_database.rsplit("/", 1)[1])
        await admin.close()
        if work == "transaction":
            async with pg.transaction() as tx:
                await tx.execute("INSERT INTO t (id, n) VALUES ('a', 1)")
        assert await pg.fetch_all("SELECT id FROM t") == [{"id": "a"}]


async def test_a_closed_database_says_so(pg):
    await pg.close()
    with pytest.raises(DatabaseUnavailable, match="pool"):
        await pg.ping()
    with pytest.raises(DatabaseUnavailable, match="pool"):
        async with pg.transaction():
            pass


async def test_a_database_that_stops_answering_is_unavailable_after_the_command_timeout(
        pg_database):
    """Through a proxy that stops forwarding (a hung network): no error from the network,
    only silence; the statement gives up after ``command_timeout``, and once the network
    is back the pool serves again."""
    from urllib.parse import urlsplit, urlunsplit

    from mercato.platform.faults import FaultProxy, both

    direct = urlsplit(pg_database)
    proxy = FaultProxy("pg", (direct.hostname, direct.port))
    port = await proxy.start()
    url = urlunsplit(direct._replace(netloc=f"{direct.username}@127.0.0.1:{port}"))
    db = await PostgresDatabase.open(url, max_size=1, command_timeout=0.5, connect_timeout=1)
    try:
        await db.ping()
        proxy.set(both(stall=True))
        with pytest.raises(DatabaseUnavailable):
            async with db.transaction() as tx:
                await tx.execute("SELECT 1")
        with pytest.raises(DatabaseUnavailable):
            await db.fetch_one("SELECT 1 AS one")
        proxy.clear()
        assert await db.fetch_one("SELECT 1 AS one") == {"one": 1}
    finally:
        await db.close()
        await proxy.stop()
