"""The store's reads use an index, not a scan of every message ever sent (migration 0003
for an order's messages, or several orders')."""

from __future__ import annotations

import pytest

from mercato.services.notifications.store import SELECT


@pytest.mark.parametrize(("where", "index"), [
    ("WHERE order_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
     "ix_notifications_order_created"),
    ("WHERE order_id IN (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
     "ix_notifications_order_created"),
    ("WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
     "ix_notifications_user_created"),
])
async def test_reading_messages_by_order_or_user_uses_an_index(service_db_for, where, index):
    db = await service_db_for("notifications")
    args = ["x"] * where.count("?")
    plan = await db.fetch_all(f"EXPLAIN QUERY PLAN {SELECT} {where}", *args[:-1], 10)
    details = " ".join(row["detail"] for row in plan)
    assert f"USING INDEX {index}" in details, details
