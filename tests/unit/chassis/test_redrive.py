"""The relay's watch over its stream (chassis/messaging/redrive.py): when the broker lost
what it acknowledged, and which outbox rows are then re-driven or pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from nats.js.errors import NotFoundError

from mercato.chassis.clock import iso
from mercato.chassis.messaging import Outbox
from mercato.chassis.messaging.redrive import StreamGuard, lost_subjects, went_backwards
from mercato.chassis.messaging.streams import event_stream_config
from mercato.contracts.inventory import StockAdjusted

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_an_acknowledgment_at_or_below_the_highest_shows_the_stream_went_backwards():
    assert went_backwards(10, 1, duplicate=False)
    assert went_backwards(10, 10, duplicate=False)
    assert not went_backwards(10, 11, duplicate=False)
    assert not went_backwards(10, 3, duplicate=True)  # a duplicate names the first copy
    assert not went_backwards(0, 1, duplicate=False)  # nothing seen yet


def test_a_subject_is_lost_when_the_stream_holds_fewer_messages_than_were_published():
    published = {"mercato.x.A": 3, "mercato.x.B": 2}
    assert lost_subjects(published, {"mercato.x.A": 3, "mercato.x.B": 2}) == []
    assert lost_subjects(published, {"mercato.x.A": 4, "mercato.x.B": 2}) == []  # re-publish
    assert lost_subjects(published, {"mercato.x.A": 3}) == ["mercato.x.B"]
    assert lost_subjects(published, {}) == ["mercato.x.A", "mercato.x.B"]


class FakeJs:
    """Stream info as JetStream answers it (per-subject counts, or no such stream; its
    metadata and when it was made), and its durable consumers' progress."""

    def __init__(self, subjects: dict[str, int] | None, last_seq: int = 0) -> None:
        self.subjects, self.last_seq = subjects, last_seq
        self.created: list[str] = []
        self.config = event_stream_config("inventory")
        self.made = "2026-12-06T11:00:00Z"
        self.consumers: list = []

    async def stream_info(self, name, subjects_filter=None):
        if self.subjects is None:
            raise NotFoundError
        return SimpleNamespace(state=SimpleNamespace(subjects=self.subjects,
                                                     last_seq=self.last_seq),
                               config=self.config, created=self.made)

    async def add_stream(self, config):
        self.created.append(config.name)
        self.subjects, self.config = {}, config

    async def update_stream(self, config):
        self.config = config

    async def consumers_info(self, stream):
        return self.consumers


def consumer(name: str, ack_floor: int, pending: int = 0, ack_pending: int = 0):
    return SimpleNamespace(name=name, config=SimpleNamespace(durable_name=name),
                           ack_floor=SimpleNamespace(stream_seq=ack_floor),
                           num_pending=pending, num_ack_pending=ack_pending)


async def published_outbox(db, count: int, at: datetime = NOW) -> Outbox:
    outbox = Outbox(db, "inventory", clock=lambda: at)
    async with db.transaction() as tx:
        for n in range(count):
            await outbox.add(tx, StockAdjusted(product_id=f"p{n}", delta=1, on_hand=1, available=1,
                                               reason="test"))
    rows = await outbox.pending(100)
    await outbox.mark_published([r["seq"] for r in rows])
    return outbox


def guard(js, outbox, retention: float = 7 * 86400.0) -> StreamGuard:
    return StreamGuard(js, outbox, event_stream_config("inventory"), retention=retention,
                       clock=lambda: NOW)


@pytest.mark.parametrize(("subjects", "lost"), [
    ({"mercato.inventory.StockAdjusted": 3}, False),
    ({"mercato.inventory.StockAdjusted": 1}, True),
    ({}, True),
])
async def test_the_probe_compares_the_stream_with_what_the_outbox_published(
        service_db_for, subjects, lost):
    outbox = await published_outbox(await service_db_for("inventory"), 3)
    g = guard(FakeJs(subjects, last_seq=7), outbox)
    assert bool(await g.probe()) is lost
    assert not g.suspect and g.highest == 7


async def test_a_missing_stream_is_made_again_and_counts_as_lost_when_rows_were_published(
        service_db_for):
    db = await service_db_for("inventory")
    js = FakeJs(None)
    assert await guard(js, Outbox(db, "inventory")).probe() is None  # nothing published
    assert js.created == ["MERCATO_INVENTORY"]
    outbox = await published_outbox(db, 2)
    js = FakeJs(None)
    assert "missing" in await guard(js, outbox).probe()
    assert js.created == ["MERCATO_INVENTORY"]


async def test_a_redrive_marks_the_retained_rows_unsent_in_order_and_wakes_the_relay(
        service_db_for):
    db = await service_db_for("inventory")
    old = await published_outbox(db, 2, at=NOW - timedelta(days=8))  # past the retention
    recent = await published_outbox(db, 3)
    recent.wakeup.clear()
    g = guard(FakeJs({}), recent)
    assert g.acked(5, False) is False and g.acked(1, False) is True  # backwards
    assert g.highest == 1
    assert await g.redrive("test") == 3
    assert recent.wakeup.is_set()
    pending = await recent.pending(10)
    assert len(pending) == 3 and [r["seq"] for r in pending] == sorted(r["seq"] for r in pending)
    assert g.redriven == 3 and g.losses == 1
    assert await old.count_pending() == 3  # the old two stay sent


async def test_published_rows_past_the_retention_are_pruned_and_unsent_ones_never(
        service_db_for):
    db = await service_db_for("inventory")
    await published_outbox(db, 2, at=NOW - timedelta(days=8))
    outbox = await published_outbox(db, 1)
    async with db.transaction() as tx:  # one never published, however old
        await Outbox(db, "inventory", clock=lambda: NOW - timedelta(days=30)).add(
            tx, StockAdjusted(product_id="q", delta=1, on_hand=1, available=1, reason="test"))
    assert await outbox.prune(iso(NOW - timedelta(days=7)), limit=1) == 1  # a batch
    assert await outbox.prune(iso(NOW - timedelta(days=7))) == 1
    assert await outbox.prune(iso(NOW - timedelta(days=7))) == 0
    left = await db.fetch_all("SELECT published_at FROM outbox ORDER BY seq")
    assert len(left) == 2 and sum(r["published_at"] is None for r in left) == 1


async def test_an_operators_redrive_takes_the_rows_since_a_moment_within_the_retention(
        service_db_for):
    db = await service_db_for("inventory")
    await published_outbox(db, 2, at=NOW - timedelta(hours=2))
    outbox = await published_outbox(db, 1)
    g = guard(FakeJs({}), outbox)
    assert await g.redrive("operator", since=iso(NOW - timedelta(hours=1))) == 1
    assert await g.redrive("operator", since="2000-01-01T00:00:00") == 2  # the retention's
    with pytest.raises(ValueError):
        await g.redrive("operator", since="yesterday")


def test_since_is_compared_in_utc_with_its_microseconds_written_out():
    from mercato.chassis.messaging.redrive import stored_form

    assert stored_form("2026-12-07T02:00:00+02:00") == "2026-12-07T00:00:00.000000Z"
    assert stored_form("2026-12-07T00:00:00") == "2026-12-07T00:00:00.000000Z"  # naive: UTC
    since = stored_form("2026-12-07T00:00:00Z")
    # rows stored as iso() writes them: within the whole second, and the second itself
    assert "2026-12-07T00:00:00.500000Z" >= since and "2026-12-07T00:00:00Z" >= since
    assert not "2026-12-06T23:59:59.999999Z" >= since


async def test_a_probe_the_broker_did_not_answer_leaves_the_stream_suspect(service_db_for):
    class Silent(FakeJs):
        async def stream_info(self, name, subjects_filter=None):
            raise TimeoutError("nats: timeout")

    g = guard(Silent({}), await published_outbox(await service_db_for("inventory"), 1))
    assert g.suspect  # at start: always probed
    with pytest.raises(TimeoutError):
        await g.probe()
    assert g.suspect  # probed again next time, not taken for a good stream


async def sent_rows(outbox: Outbox, g: StreamGuard) -> list[int]:
    """The outbox's rows as published: stream sequences 1, 2, ... acknowledged in order."""
    rows = [r["seq"] for r in await outbox.db.fetch_all("SELECT seq FROM outbox ORDER BY seq")]
    for n, row in enumerate(rows, start=1):
        g.acked(n, False, row)
    return rows


async def test_a_loss_redrives_only_the_rows_some_durable_consumer_had_not_acknowledged(
        service_db_for):
    outbox = await published_outbox(await service_db_for("inventory"), 5)
    js = FakeJs({"mercato.inventory.StockAdjusted": 5}, last_seq=5)
    g = guard(js, outbox)
    g.suspect = False
    rows = await sent_rows(outbox, g)
    # one consumer has everything, the other acknowledged up to the stream's 3rd message
    js.consumers = [consumer("a", 5), consumer("b", 3, pending=2)]
    await g.advance()
    assert g.consumed == rows[2]
    js.subjects, js.last_seq = {}, 0  # the store is lost
    assert await g.redrive("lost") == 2
    assert [r["seq"] for r in await outbox.pending(10)] == rows[3:]
    assert js.config.metadata["mercato.redriven_after"] == str(rows[2])
    # the stream holds the two again: the probe counts from the baseline, finds no loss
    await outbox.mark_published(rows[3:])
    js.subjects, js.last_seq = {"mercato.inventory.StockAdjusted": 2}, 2
    g.suspect = True
    assert await g.probe() is None


async def test_a_consumer_with_nothing_pending_has_everything_up_to_the_last_sequence(
        service_db_for):
    outbox = await published_outbox(await service_db_for("inventory"), 3)
    js = FakeJs({}, last_seq=3)
    g = guard(js, outbox)
    g.suspect = False
    rows = await sent_rows(outbox, g)
    # a filtered consumer's ack floor stays at the last message it matched
    js.consumers = [consumer("filtered", 1)]
    await g.advance()
    assert g.consumed == rows[-1] and not g.sent


@pytest.mark.parametrize("why", ["missing durable", "suspect", "other stream", "none"])
async def test_the_floor_holds_when_it_cannot_be_known(service_db_for, why):
    outbox = await published_outbox(await service_db_for("inventory"), 3)
    js = FakeJs({}, last_seq=3)
    g = guard(js, outbox)
    g.suspect = False
    rows = await sent_rows(outbox, g)
    js.consumers = [consumer("a", 1, pending=2), consumer("b", 1, pending=2)]
    await g.advance()
    assert g.consumed == rows[0]
    js.consumers = [consumer("a", 3), consumer("b", 3)]
    if why == "missing durable":  # b is being made again after a loss
        js.consumers = [consumer("a", 3)]
    elif why == "suspect":  # the connection came back: the stream may be another one
        g.suspect = True
    elif why == "other stream":  # made again under the same name
        js.made = "2026-12-06T11:30:00Z"
    elif why == "none":
        js.consumers = []
    await g.advance()
    assert g.consumed == rows[0]


async def test_an_operators_redrive_is_not_shortened_by_the_floor(service_db_for):
    outbox = await published_outbox(await service_db_for("inventory"), 3)
    js = FakeJs({}, last_seq=3)
    g = guard(js, outbox)
    g.suspect = False
    await sent_rows(outbox, g)
    js.consumers = [consumer("a", 3)]
    await g.advance()
    assert await g.redrive("operator", since="2000-01-01T00:00:00") == 3
    assert "mercato.redriven_after" not in (js.config.metadata or {})


async def test_a_row_published_before_a_lower_one_does_not_let_the_lower_one_be_skipped(
        service_db_for):
    """On PostgreSQL row 2 may commit, and be published, before row 1: the consumers'
    floor covering the first message (row 2) must not count row 1 as consumed."""
    outbox = await published_outbox(await service_db_for("inventory"), 3)
    rows = [r["seq"] for r in await outbox.db.fetch_all("SELECT seq FROM outbox ORDER BY seq")]
    js = FakeJs({}, last_seq=3)
    g = guard(js, outbox)
    g.suspect = False
    g.acked(1, False, rows[1])
    g.acked(2, False, rows[0])
    g.acked(3, False, rows[2])
    js.consumers = [consumer("a", 1, pending=2)]
    await g.advance()
    assert g.consumed == rows[1] and g.watermark() == rows[0] - 1
    assert await g.redrive("lost") == 3


async def test_while_the_dlq_holds_a_dead_letter_of_the_stream_the_whole_retention_is_redriven(
        service_db_for):
    outbox = await published_outbox(await service_db_for("inventory"), 3)
    js = FakeJs({"mercato.dlq.a": 1}, last_seq=3)  # the DLQ's subjects, in this fake
    g = guard(js, outbox)
    g.suspect = False
    await sent_rows(outbox, g)
    js.consumers = [consumer("a", 3)]
    await g.advance()
    assert g.dead_letters == 1 and g.consumed
    assert await g.redrive("lost") == 3


async def test_a_redrive_that_failed_leaves_the_stream_suspect(service_db_for):
    outbox = await published_outbox(await service_db_for("inventory"), 1)
    g = guard(FakeJs({}), outbox)
    g.suspect = False

    async def broken(*_args):
        raise ConnectionError("database gone")
    outbox.redrive = broken
    with pytest.raises(ConnectionError):
        await g.redrive("lost")
    assert g.suspect and g.losses == 0


async def test_past_the_tracking_limit_the_floor_stops_below_the_first_row_not_tracked(
        service_db_for, monkeypatch):
    monkeypatch.setattr("mercato.chassis.messaging.redrive.MAX_TRACKED", 2)
    outbox = await published_outbox(await service_db_for("inventory"), 4)
    js = FakeJs({}, last_seq=4)
    g = guard(js, outbox)
    g.suspect = False
    rows = await sent_rows(outbox, g)
    js.consumers = [consumer("a", 4)]
    await g.advance()
    assert g.watermark() == rows[2] - 1  # rows 3 and 4 were never tracked
