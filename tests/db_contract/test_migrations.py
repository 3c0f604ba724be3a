"""The nine services' Alembic histories on both backends (docs/production.md section 1).

Each history upgrades to head on SQLite and on PostgreSQL, and the two schemas agree as
SQLAlchemy's inspector sees them: tables, columns, nullability, primary keys, unique
keys, indexes, foreign keys, and column types (the same on both but for the spellings in
``SAME_TYPE`` and the columns in ``WIDER_ON_POSTGRES``). On PostgreSQL a second upgrade
does nothing, migrators starting together (replicas) queue on the advisory lock, and
orders' data migrations (0003 to events, 0010) carry old rows up and back down.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa

from mercato.chassis.data.migrations import (
    MIGRATION_LOCK_KEY,
    MigrationFailed,
    migrate,
    migrate_in_child,
    postgres_engine,
    sqlite_url,
)
from tests.conftest import SERVICES_DIR

SERVICES = ("cart", "catalog", "identity", "inventory", "loyalty", "notifications", "orders",
            "payments", "shipping")

SAME_TYPE = {"BLOB": "BYTEA"}  # SQLite's spelling -> PostgreSQL's
# 64-bit on PostgreSQL, declared INTEGER on SQLite (where every integer is 64-bit and an
# INTEGER PRIMARY KEY must stay one to be the rowid): (service, table, column)
WIDER_ON_POSTGRES = {
    ("orders", "order_events", "seq"), ("orders", "projection_positions", "position"),
    ("payments", "payment_events", "seq"), ("payments", "checkout_intents", "amount"),
    ("loyalty", "ledger_entries", "seq"),
    *((service, "outbox", "seq") for service in (
        "catalog", "identity", "inventory", "loyalty", "orders", "payments", "shipping")),
}


def inspect_schema(conn) -> dict:
    """What the inspector sees of every table: {table: {part: value}}."""
    inspector = sa.inspect(conn)
    tables = {}
    for table in inspector.get_table_names():
        indexes = inspector.get_indexes(table)
        unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        unique |= {tuple(ix["column_names"]) for ix in indexes if ix["unique"]}
        tables[table] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)},
            "primary key": tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
            "unique": sorted(unique),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), ix["unique"])
                              for ix in indexes if "duplicates_constraint" not in ix),
            "foreign keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"],
                 tuple(fk["referred_columns"]), fk["options"].get("ondelete"))
                for fk in inspector.get_foreign_keys(table)),
        }
    return tables


async def postgres_schema(url: str) -> dict:
    engine = postgres_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(inspect_schema)
    finally:
        await engine.dispose()


def sqlite_schema(path) -> dict:
    engine = sa.create_engine(sqlite_url(path), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return inspect_schema(conn)
    finally:
        engine.dispose()


async def upgrade(service: str, url: str, tmp_path) -> None:
    await asyncio.to_thread(migrate, SERVICES_DIR / service / "migrations", url,
                            tmp_path / ".migrate.lock")


def as_on_postgres(service: str, sqlite: dict) -> dict:
    """The SQLite schema with its types spelt as PostgreSQL spells the same ones."""
    for table, parts in sqlite.items():
        for name, (kind, nullable) in parts["columns"].items():
            kind = SAME_TYPE.get(kind, kind)
            if (service, table, name) in WIDER_ON_POSTGRES and kind == "INTEGER":
                kind = "BIGINT"
            parts["columns"][name] = (kind, nullable)
    return sqlite


def test_every_history_is_covered():
    assert sorted(p.parent.name for p in SERVICES_DIR.glob("*/migrations")) == list(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_history_makes_the_same_schema_on_both_backends(service, pg_database,
                                                                   tmp_path):
    await upgrade(service, sqlite_url(tmp_path / "db.sqlite"), tmp_path)
    await upgrade(service, pg_database, tmp_path)

    sqlite = as_on_postgres(service, sqlite_schema(tmp_path / "db.sqlite"))
    postgres = await postgres_schema(pg_database)
    assert sorted(postgres) == sorted(sqlite)
    for table in sqlite:
        for part in ("columns", "primary key", "unique", "indexes", "foreign keys"):
            assert postgres[table][part] == sqlite[table][part], (table, part)


async def alembic_version(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [r["version_num"] for r in await conn.fetch("SELECT * FROM alembic_version")]
    finally:
        await conn.close()


@pytest.mark.parametrize("service", ["orders", "payments"])
async def test_a_second_upgrade_on_postgres_does_nothing(service, pg_database, tmp_path,
                                                         caplog):
    caplog.set_level(logging.INFO, logger="alembic")
    await upgrade(service, pg_database, tmp_path)
    assert "Running upgrade" in caplog.text
    schema, version = await postgres_schema(pg_database), await alembic_version(pg_database)

    caplog.clear()
    await upgrade(service, pg_database, tmp_path)
    assert "Running upgrade" not in caplog.text
    assert await postgres_schema(pg_database) == schema
    assert await alembic_version(pg_database) == version


async def test_a_url_means_what_it_means_to_libpq_and_asyncpg(pg_database, tmp_path):
    """postgres://, libpq's sslmode, a percent-encoded password (ignored by trust auth):
    through Alembic's configparser and asyncpg.connect, as the runtime will take them."""
    url = pg_database.replace("postgresql://postgres@", "postgres://postgres:p%25w@")
    await upgrade("cart", url + "?sslmode=disable", tmp_path)
    assert len(await alembic_version(pg_database)) == 1


async def test_a_failed_migration_says_so_without_the_password(pg_database, tmp_path):
    url = pg_database.replace("postgres@", "postgres:s3cret@") + "_missing"
    with pytest.raises(MigrationFailed) as failed:
        await migrate_in_child(SERVICES_DIR / "cart" / "migrations", url, tmp_path / ".lock")
    assert "postgres:***@" in str(failed.value) and "s3cret" not in str(failed.value)


async def test_two_migrators_at_once_on_postgres_both_succeed(pg_database, tmp_path):
    history = SERVICES_DIR / "orders" / "migrations"
    # different lock files: only the database's advisory lock can serialise them
    await asyncio.gather(migrate_in_child(history, pg_database, tmp_path / "a.lock"),
                         migrate_in_child(history, pg_database, tmp_path / "b.lock"))

    await upgrade("orders", sqlite_url(tmp_path / "db.sqlite"), tmp_path)
    assert await postgres_schema(pg_database) == as_on_postgres(
        "orders", sqlite_schema(tmp_path / "db.sqlite"))
    assert len(await alembic_version(pg_database)) == 1


async def test_a_migrator_waits_while_another_holds_the_advisory_lock(pg_database, tmp_path):
    holder = await asyncpg.connect(pg_database)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        child = asyncio.create_task(migrate_in_child(
            SERVICES_DIR / "cart" / "migrations", pg_database, tmp_path / ".lock"))
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        for _ in range(300):
            if await holder.fetchval(waiting) or child.done():
                break
            await asyncio.sleep(0.1)
        assert not child.done() and await holder.fetchval(waiting) == 1
        assert await holder.fetchval("SELECT to_regclass('alembic_version')") is None

        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        await asyncio.wait_for(child, 60)
        assert await holder.fetchval("SELECT count(*) FROM carts") == 0
    finally:
        await holder.close()


async def alembic_to(url: str, revision: str, *, down: bool = False) -> None:
    """The orders history on ``url`` moved to ``revision``, up or down."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / "orders" / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.downgrade if down else command.upgrade, config, revision)


async def test_orders_written_the_old_way_become_events_on_postgres(pg_database):
    """Revisions 0003 (to events) and 0010 (units, forgotten cards) over data, and back."""
    await alembic_to(pg_database, "0002")
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # recent: 0010 counts it
    address = {"name": "A", "line1": "1 Road", "city": "T", "postal_code": "1", "country": "FR"}
    body = {"payload": {"order_id": "o1", "sealed_card_token": "sealed"}}
    conn = await asyncpg.connect(pg_database)
    try:
        await conn.execute(
            "INSERT INTO orders (id, customer_id, status, reason, currency, total,"
            " shipping_address, from_cart, created_at, updated_at)"
            " VALUES ('o1', 'alice', 'confirmed', NULL, 'USD', 4398, $1, true, $2, $2)",
            json.dumps(address), at)
        await conn.executemany(  # written p2 first: the events keep that order
            "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_price)"
            " VALUES ('o1', $1, $2, $3, $4)", [("p2", "Hat", 1, 1800), ("p1", "Mug", 2, 1299)])
        await conn.executemany(
            "INSERT INTO order_history (order_id, seq, status, reason, at)"
            " VALUES ('o1', $1, $2, NULL, $3)", [(0, "pending", at), (1, "confirmed", at)])
        await conn.execute(
            "INSERT INTO sagas (order_id, card_token, phase, step, reason, cancel_requested,"
            " state, updated_at) VALUES ('o1', 'tok', 'confirmed', 'done', NULL, false,"
            " '{}', $1)", at)
        await conn.execute(
            "INSERT INTO outbox (id, subject, body, created_at, published_at)"
            " VALUES ('e1', 'mercato.orders.OrderPlaced', $1, $2, $2)",
            json.dumps(body).encode(), at)

        await alembic_to(pg_database, "head")
        events = await conn.fetch("SELECT type, data FROM order_events ORDER BY version")
        assert [e["type"] for e in events] == ["OrderPlaced", "OrderConfirmed"]
        placed = json.loads(events[0]["data"])
        assert [x["product_id"] for x in placed["lines"]] == ["p2", "p1"]
        assert placed["from_cart"] is True and placed["address"] == address
        assert sorted(tuple(r) for r in await conn.fetch(
            "SELECT product_id, units FROM order_units")) == [("p1", 2), ("p2", 1)]
        assert await conn.fetchval("SELECT card_token FROM sagas") == ""
        forgotten = json.loads(await conn.fetchval("SELECT body FROM outbox"))
        assert forgotten["payload"]["sealed_card_token"] is None

        await alembic_to(pg_database, "0002", down=True)
        assert tuple(await conn.fetchrow("SELECT status, total, from_cart FROM orders")) == (
            "confirmed", 4398, True)
        assert await conn.fetchval("SELECT count(*) FROM order_lines") == 2
    finally:
        await conn.close()
