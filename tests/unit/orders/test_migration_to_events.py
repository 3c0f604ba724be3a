"""Migration 0003: a database whose orders were written the old way (orders, order_lines,
order_history) keeps them as events, reads the same orders, and folds back on downgrade."""

from __future__ import annotations

import json
import sqlite3

import pytest
from alembic import command
from alembic.config import Config

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.data.migrations import sqlite_url
from mercato.services.orders.adapters.store import SqlOrderRepository
from mercato.services.orders.domain.order import Reason
from tests.conftest import SERVICES_DIR

ADDRESS = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "FR"}
# (id, customer, created_at, from_cart, lines, history after the placement)
OLD_ORDERS = [
    ("o-confirmed", "alice", "2026-01-01T10:00:00.250000Z", True,
     [("p2", "Hat", 1, 1800), ("p1", "Mug", 2, 1299)],
     [("confirmed", None, "2026-01-01T10:00:03Z")]),
    ("o-refunded", "alice", "2026-01-01T10:00:01Z", False, [("p1", "Mug", 1, 1299)],
     [("confirmed", None, "2026-01-01T10:00:02.5Z"),
      ("cancelled", "customer_request", "2026-01-02T09:00:00Z")]),
    ("o-declined", "bob", "2026-01-01T10:00:02Z", False, [("p1", "Mug", 3, 1299)],
     [("cancelled", "payment_declined", "2026-01-01T10:00:02.1Z")]),
    ("o-pending", "bob", "2026-01-03T08:00:00Z", False, [("p3", "Cup", 1, 500)], []),
]


def alembic(path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / "orders" / "migrations"))
    config.set_main_option("sqlalchemy.url", sqlite_url(path))
    return config


def write_the_old_way(path) -> None:
    """Rows as the store of revision 0002 wrote them (orders, lines, history, saga)."""
    conn = sqlite3.connect(path)
    with conn:
        for oid, customer, created, from_cart, lines, later in OLD_ORDERS:
            history = [("pending", None, created), *later]
            status, reason, updated = history[-1]
            conn.execute(
                "INSERT INTO orders (id, customer_id, status, reason, currency, total,"
                " shipping_address, from_cart, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (oid, customer, status, reason, "USD", sum(q * p for _, _, q, p in lines),
                 json.dumps(ADDRESS), from_cart, created, updated))
            conn.executemany(
                "INSERT INTO order_lines (order_id, product_id, name, quantity, unit_price)"
                " VALUES (?, ?, ?, ?, ?)", [(oid, *line) for line in lines])
            conn.executemany(
                "INSERT INTO order_history (order_id, seq, status, reason, at)"
                " VALUES (?, ?, ?, ?, ?)", [(oid, n, *h) for n, h in enumerate(history)])
            conn.execute(
                "INSERT INTO sagas (order_id, card_token, phase, step, reason,"
                " cancel_requested, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (oid, "tok_ok", "forward" if not later else "cancelled", "reserve_stock",
                 None, False, json.dumps({"records": {}}), updated))
    conn.close()


def dump_old_tables(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall()
                for t, key in (("orders", "id"), ("order_lines", "order_id, rowid"),
                               ("order_history", "order_id, seq"), ("sagas", "order_id"))}
    finally:
        conn.close()


def expected(oid: str) -> dict:
    _, customer, created, _, lines, later = next(o for o in OLD_ORDERS if o[0] == oid)
    history = [("pending", None, created), *later]
    return {
        "id": oid, "customer_id": customer, "status": history[-1][0],
        "reason": history[-1][1], "total": sum(q * p for _, _, q, p in lines),
        "currency": "USD", "shipping_address": ADDRESS, "created_at": created,
        "items": [{"product_id": p, "name": n, "quantity": q, "unit_price": u,
                   "amount": q * u} for p, n, q, u in lines],
        "history": [{"status": s, "at": at, "reason": r} for s, r, at in history],
        # the timeline knows what the old rows did: the placement and the confirmation
        "progress": [{"step": "placed" if s == "pending" else s, "at": at}
                     for s, _, at in history if s != "cancelled"],
    }


@pytest.fixture
def old_database(tmp_path):
    path = tmp_path / "orders.db"
    command.upgrade(alembic(path), "0002")
    write_the_old_way(path)
    return path


async def test_an_upgraded_database_reads_the_same_orders(old_database):
    command.upgrade(alembic(old_database), "head")
    db = SqliteDatabase(old_database)
    try:
        store = SqlOrderRepository(db)
        for oid, *_ in OLD_ORDERS:
            order = await store.get_order(oid)
            assert order.as_dict() == expected(oid)
            assert order.version == len(expected(oid)["history"])
        assert (await store.get_order("o-confirmed")).from_cart is True
        assert (await store.get_order("o-refunded")).from_cart is False
        # the saga survives and still finds its order
        assert (await store.get_saga("o-pending")).card_token == "tok_ok"
        assert await store.unfinished_sagas() == ["o-pending"]
        # cancelling after a confirmation was a refund
        types = [(r.type, getattr(r.event, "refunded", None))
                 for r in await store.events.load("o-refunded")]
        assert types == [("OrderPlaced", None), ("OrderConfirmed", None),
                         ("OrderCancelled", True)]
        [*_, declined] = await store.events.load("o-declined")
        assert declined.event.refunded is False
        # the old tables are gone: nothing can read stale statuses from them
        tables = {r["name"] for r in await db.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & {"orders", "order_lines", "order_history"}
    finally:
        await db.close()


async def test_the_global_sequence_follows_time_and_each_orders_versions(old_database):
    command.upgrade(alembic(old_database), "head")
    conn = sqlite3.connect(old_database)
    rows = conn.execute("SELECT order_id, version FROM order_events ORDER BY seq").fetchall()
    seqs = [r[0] for r in conn.execute("SELECT seq FROM order_events ORDER BY seq")]
    conn.close()
    assert seqs == list(range(1, 9))
    # 10:00:00.25 placed, 10:00:01 placed, 10:00:02 placed, 10:00:02.1 declined (text
    # order would put "02.1Z" before "02Z"), 10:00:02.5 confirmed, 10:00:03 confirmed, ...
    assert rows == [("o-confirmed", 1), ("o-refunded", 1), ("o-declined", 1),
                    ("o-declined", 2), ("o-refunded", 2), ("o-confirmed", 2),
                    ("o-refunded", 3), ("o-pending", 1)]


async def test_an_upgraded_order_takes_new_events_at_the_next_version(old_database):
    command.upgrade(alembic(old_database), "head")
    db = SqliteDatabase(old_database)
    try:
        store = SqlOrderRepository(db)
        order = await store.get_order("o-pending")
        async with db.transaction() as tx:
            await store.append(tx, order.cancel(Reason.EXPIRED, "2026-01-03T09:00:00Z"),
                               expected_version=order.version)
        assert (await store.get_order("o-pending")).status.value == "cancelled"
        assert await store.events.last_seq() == 9
    finally:
        await db.close()


def test_a_downgrade_folds_the_events_back_into_the_old_tables(old_database):
    before = dump_old_tables(old_database)
    command.upgrade(alembic(old_database), "head")
    command.downgrade(alembic(old_database), "0002")
    # Everything comes back but the card tokens past their use (0010): those stay forgotten.
    still_needed = {"o-pending"}  # its checkout has not authorized yet
    before["sagas"] = [(oid, token if oid in still_needed else "", *rest)
                       for oid, token, *rest in before["sagas"]]
    assert dump_old_tables(old_database) == before
