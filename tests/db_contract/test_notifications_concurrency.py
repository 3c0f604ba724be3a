"""Notifications: one message id stored by two replicas at once, on both backends
(docs/production.md §1): one row and a replay, never a ``Conflict`` (the insert does
nothing on a clash, then reads; no read decides the write, so no lock is needed)."""

from __future__ import annotations

import asyncio

import pytest

from mercato.services.notifications.domain import Notification
from mercato.services.notifications.store import SqlNotificationRepository
from tests.db_contract import kit

SERVICE = "notifications"  # the database conftest ``service_db_url`` names

AT = "2026-03-01T09:00:00.000000+00:00"


@pytest.fixture
async def two(service_db_url, tmp_path):
    async with kit.handles(SERVICE, service_db_url, tmp_path) as opened:
        yield [SqlNotificationRepository(db) for db in opened]


async def test_one_message_stored_twice_at_once_is_one_row_and_a_replay(two):
    note = Notification(id="n-1", user_id="alice", kind="order", subject="Hi", body="Body",
                        order_id=None, email="alice@example.com",
                        created_at=AT)

    async def add(store: SqlNotificationRepository) -> bool:
        async with store.db.transaction() as tx:
            _, created = await store.add(tx, note)
            await asyncio.sleep(0.05)  # both insert before either commits
        return created

    assert sorted(await asyncio.gather(add(two[0]), add(two[1]))) == [False, True]
    row = await two[0].db.fetch_one("SELECT COUNT(*) AS n FROM notifications")
    assert row is not None and int(row["n"]) == 1
