"""Metrics read at scrape time, with fakes of the outbox's database and of JetStream:
the outbox's backlog and its oldest event's age, each durable consumer's pending and
redelivered messages and deliveries, its dead letters, a service's own gauges; a source
that hangs or fails is left out of the scrape instead of holding it up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mercato.chassis.telemetry.metrics import ScrapeMetrics
from tests.support.clock import ManualClock

NOW = datetime(2026, 3, 1, 9, 0, 30, tzinfo=UTC)


class FakeDb:
    def __init__(self, oldest: str | None) -> None:
        self.oldest = oldest

    async def fetch_one(self, sql: str, *args):
        assert "published_at IS NULL" in sql
        return {"oldest": self.oldest}


class FakeOutbox:
    def __init__(self, pending: int) -> None:
        self.pending = pending

    async def count_pending(self) -> int:
        return self.pending


class FakeJetStream:
    """Consumer info per (stream, durable), and the dead-letter stream's subject counts
    (None: the stream does not exist)."""

    def __init__(self, infos: dict, dead: dict | None) -> None:
        self.infos = infos
        self.dead = dead

    async def consumer_info(self, stream: str, durable: str):
        return self.infos[(stream, durable)]

    async def stream_info(self, name: str, subjects_filter: str | None = None):
        assert (name, subjects_filter) == ("MERCATO_DLQ", "mercato.dlq.>")
        if self.dead is None:
            raise NotFoundError()
        return SimpleNamespace(state=SimpleNamespace(subjects=self.dead))


class FakeConsumers:
    def __init__(self, *names: tuple[str, str]) -> None:
        self.subscriptions = [SimpleNamespace(name=n, source=source) for n, source in names]
        self.duplicates = {"cart__orders": 3}

    def durable(self, sub) -> str:
        return f"cart__{sub.name}"


def info(pending: int, ack_pending: int, redelivered: int, delivered: int):
    return SimpleNamespace(num_pending=pending, num_ack_pending=ack_pending,
                           num_redelivered=redelivered,
                           delivered=SimpleNamespace(consumer_seq=delivered))


def runtime(pending: int = 0, oldest: str | None = None, dead: dict | None = None):
    infos = {("MERCATO_ORDERS", "cart__orders"): info(3, 2, 1, 40),
             ("MERCATO_IDENTITY", "cart__identity"): info(0, 0, 0, 7)}
    return SimpleNamespace(outbox=FakeOutbox(pending), db=FakeDb(oldest),
                           consumers=FakeConsumers(("orders", "orders"),
                                                   ("identity", "identity")),
                           js=FakeJetStream(infos, dead))


async def scrape(metrics: ScrapeMetrics, rt) -> dict[tuple, float]:
    registry = CollectorRegistry()
    registry.register(metrics)
    await metrics.refresh(rt)
    text = generate_latest(registry).decode()
    return {(s.name, tuple(s.labels.values())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_the_outbox_backlog_and_the_age_of_its_oldest_event_are_read_at_scrape_time():
    metrics = ScrapeMetrics(clock=ManualClock(NOW))
    samples = await scrape(metrics, runtime(pending=4, oldest="2026-03-01T09:00:00Z"))
    assert samples[("mercato_outbox_pending", ())] == 4
    assert samples[("mercato_outbox_oldest_age_seconds", ())] == 30


async def test_an_empty_outbox_is_zero_pending_and_zero_age():
    samples = await scrape(ScrapeMetrics(clock=ManualClock(NOW)), runtime())
    assert samples[("mercato_outbox_pending", ())] == 0
    assert samples[("mercato_outbox_oldest_age_seconds", ())] == 0


async def test_each_durable_consumer_reports_pending_redelivered_deliveries_and_duplicates():
    samples = await scrape(ScrapeMetrics(), runtime())
    assert samples[("mercato_consumer_pending", ("cart__orders",))] == 5  # 3 + 2 unacked
    assert samples[("mercato_consumer_redelivered_messages", ("cart__orders",))] == 1
    assert samples[("mercato_consumer_deliveries_total", ("cart__orders",))] == 40
    assert samples[("mercato_consumer_pending", ("cart__identity",))] == 0
    assert samples[("mercato_consumer_duplicates_total", ("cart__orders",))] == 3
    assert samples[("mercato_consumer_duplicates_total", ("cart__identity",))] == 0


async def test_dead_letters_are_counted_per_consumer_of_this_service_only():
    dead = {"mercato.dlq.cart__orders": 2, "mercato.dlq.notifications__orders": 9}
    samples = await scrape(ScrapeMetrics(), runtime(dead=dead))
    assert samples[("mercato_dead_letters", ("cart__orders",))] == 2
    assert samples[("mercato_dead_letters", ("cart__identity",))] == 0
    assert ("mercato_dead_letters", ("notifications__orders",)) not in samples


async def test_no_dead_letter_stream_yet_means_zero_dead_letters():
    samples = await scrape(ScrapeMetrics(), runtime(dead=None))
    assert samples[("mercato_dead_letters", ("cart__orders",))] == 0


async def test_a_service_adds_its_own_gauge_read_at_each_scrape():
    metrics = ScrapeMetrics()
    held = iter([3, 1])

    async def read() -> float:
        return next(held)

    metrics.add_probe("mercato_reservations_held", "Reservations holding stock", read)
    assert (await scrape(metrics, runtime()))[("mercato_reservations_held", ())] == 3
    assert (await scrape(metrics, runtime()))[("mercato_reservations_held", ())] == 1


async def test_a_hung_or_failing_source_is_left_out_and_the_others_are_still_shown():
    rt = runtime(pending=2)
    never = asyncio.Event()

    async def hang(stream, durable):
        await never.wait()

    rt.js.consumer_info = hang

    async def broken() -> float:
        raise RuntimeError("database is locked")

    metrics = ScrapeMetrics(timeout=0.01)
    metrics.add_probe("mercato_reservations_held", "Reservations holding stock", broken)
    samples = await scrape(metrics, rt)
    assert samples[("mercato_outbox_pending", ())] == 2
    assert not [k for k in samples if k[0].startswith(("mercato_consumer",
                                                       "mercato_reservations"))]


async def test_a_process_without_outbox_or_consumers_reports_none_of_theirs():
    rt = SimpleNamespace(outbox=None, db=None, consumers=None, js=None)
    assert await scrape(ScrapeMetrics(), rt) == {}

