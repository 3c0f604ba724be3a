"""The outbox's retention queries (chassis/messaging/outbox.py, used by the relay's
re-drive and pruning: docs/chaos.md F4) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mercato.chassis.clock import iso
from mercato.chassis.messaging import Outbox
from mercato.contracts.inventory import StockAdjusted
from tests.db_contract import kit

SERVICE = "inventory"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def add(db, at: datetime, count: int, *, publish: bool = True) -> Outbox:
    outbox = Outbox(db, SERVICE, clock=lambda: at)
    async with db.transaction() as tx:
        for n in range(count):
            await outbox.add(tx, StockAdjusted(product_id=f"p{n}", delta=1, on_hand=1,
                                               available=1, reason="test"))
    if publish:
        await outbox.mark_published([r["seq"] for r in await outbox.pending(100)])
    return outbox


async def test_published_rows_are_counted_redriven_and_pruned_by_age(service_db_url, tmp_path):
    async with kit.handles(SERVICE, service_db_url, tmp_path, count=1) as (db,):
        await add(db, NOW - timedelta(days=8), 2)
        outbox = await add(db, NOW, 3)
        await add(db, NOW - timedelta(days=30), 1, publish=False)  # never published
        since = iso(NOW - timedelta(days=7))
        assert await outbox.published_counts(since) == {"mercato.inventory.StockAdjusted": 3}
        assert await outbox.redrive(since) == 3
        assert await outbox.count_pending() == 4
        assert await outbox.published_counts(since) == {}
        assert await outbox.prune(since, limit=1) == 1
        assert await outbox.prune(since) == 1
        assert await outbox.prune(since) == 0  # the unpublished one stays
        assert await outbox.count_pending() == 4


async def test_counts_and_redrive_leave_out_the_rows_up_to_a_seq(service_db_url, tmp_path):
    """A re-drive after a loss starts after the last row every consumer had (redrive.py)."""
    async with kit.handles(SERVICE, service_db_url, tmp_path, count=1) as (db,):
        outbox = await add(db, NOW, 4)
        seqs = [r["seq"] for r in await db.fetch_all("SELECT seq FROM outbox ORDER BY seq")]
        since = iso(NOW - timedelta(days=7))
        subject = "mercato.inventory.StockAdjusted"
        assert await outbox.published_counts(since, after=seqs[1]) == {subject: 2}
        assert await outbox.redrive(since, after=seqs[1]) == 2
        assert [r["seq"] for r in await outbox.pending(10)] == seqs[2:]
        assert await outbox.published_counts(since) == {subject: 2}  # the two kept sent
