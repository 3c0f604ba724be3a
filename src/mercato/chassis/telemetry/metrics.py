"""Metrics read at scrape time from what the process can ask: its outbox (how many events
wait for the relay, and for how long), its durable consumers (JetStream consumer info), its
dead letters (the dead-letter stream) and the gauges a service adds (``add_probe``, e.g.
inventory's reservations held). See docs/metrics.md.

A scrape of ``/metrics`` awaits ``exposition(runtime)``: every source is asked at once, each
bounded by ``timeout`` seconds, so a slow or absent broker or a locked database never hangs
a scrape; a source that fails or is late is left out of that scrape (its series go stale
in Prometheus) rather than shown with an old value. Nothing is asked between scrapes.

Several instances of one service share its database and its durable consumers, so each
reports the same outbox, consumer and dead-letter numbers: aggregate them with ``max by``,
not ``sum by`` (docs/metrics.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from typing import Any

from nats.js.errors import NotFoundError
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from mercato.chassis.clock import Clock, utc_now
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.streams import DLQ_STREAM, DLQ_SUBJECT_PREFIX
from mercato.contracts.envelope import stream_for

log = get_logger(__name__)
CONSUMER = ["messaging_consumer_group_name"]
Probe = Callable[[], Awaitable[float]]


class ScrapeMetrics(Collector):
    """The families gathered by the last ``refresh``, handed to the registry on collect."""

    def __init__(self, *, clock: Clock = utc_now, timeout: float = 0.5) -> None:
        self.clock = clock
        self.timeout = timeout
        self.probes: dict[str, tuple[str, Probe]] = {}
        self._families: list = []

    def add_probe(self, name: str, documentation: str, read: Probe) -> None:
        """A gauge without labels whose value ``read()`` gives at each scrape."""
        self.probes[name] = (documentation, read)

    async def refresh(self, runtime: Any) -> None:
        """Ask every source of ``runtime`` (a ``chassis.Runtime``) for its numbers now."""
        sources = [self._outbox(runtime), self._consumers(runtime),
                   *(self._probe(name, doc, read) for name, (doc, read) in self.probes.items())]
        results = await asyncio.gather(*(self._bounded(s) for s in sources))
        self._families = [family for found in results for family in found]

    def collect(self):
        return list(self._families)

    async def _bounded(self, source: Awaitable[list]) -> list:
        try:
            return await asyncio.wait_for(source, self.timeout)
        except Exception as exc:  # late or failing: left out of this scrape
            log.debug("metrics_source_unavailable", error=f"{type(exc).__name__}: {exc}")
            return []

    async def _outbox(self, runtime: Any) -> list:
        if runtime.outbox is None or runtime.db is None:
            return []
        pending = await runtime.outbox.count_pending()
        row = await runtime.db.fetch_one(
            "SELECT MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL")
        age = 0.0
        if pending and row and row["oldest"]:
            written = datetime.fromisoformat(row["oldest"])
            age = max(0.0, (self.clock() - written).total_seconds())
        return [_gauge("mercato_outbox_pending", "Events written to the outbox and not yet "
                       "published to JetStream", pending),
                _gauge("mercato_outbox_oldest_age_seconds", "Age of the oldest event not yet "
                       "published (0 when none waits)", age)]

    async def _consumers(self, runtime: Any) -> list:
        consumers, js = runtime.consumers, runtime.js
        if consumers is None or js is None:
            return []
        durables = [(consumers.durable(s), stream_for(s.source)) for s in consumers.subscriptions]
        infos = await asyncio.gather(*(js.consumer_info(stream, durable)
                                       for durable, stream in durables))
        pending = GaugeMetricFamily(
            "mercato_consumer_pending", "Messages of a durable consumer not yet acked: "
            "waiting for delivery (num_pending) plus delivered and unacked (num_ack_pending)",
            labels=CONSUMER)
        redelivered = GaugeMetricFamily(
            "mercato_consumer_redelivered_messages", "Messages delivered more than once and "
            "not acked yet (JetStream num_redelivered; falls when they are acked)",
            labels=CONSUMER)
        deliveries = CounterMetricFamily(
            "mercato_consumer_deliveries", "Deliveries by JetStream to a durable consumer, "
            "redeliveries included (its delivered consumer sequence)", labels=CONSUMER)
        duplicates = CounterMetricFamily(
            "mercato_consumer_duplicates", "Deliveries this process dropped because its "
            "consumer's inbox had the event already (a re-publish or a redelivery whose "
            "ack was lost); per process, so sum by instance", labels=CONSUMER)
        for (durable, _), info in zip(durables, infos, strict=True):
            duplicates.add_metric([durable], consumers.duplicates.get(durable, 0))
            pending.add_metric([durable], (info.num_pending or 0) + (info.num_ack_pending or 0))
            redelivered.add_metric([durable], info.num_redelivered or 0)
            deliveries.add_metric([durable], info.delivered.consumer_seq if info.delivered
                                  else 0)
        return [pending, redelivered, deliveries, duplicates,
                await self._dead_letters(js, [durable for durable, _ in durables])]

    @staticmethod
    async def _dead_letters(js: Any, durables: list[str]) -> GaugeMetricFamily:
        family = GaugeMetricFamily("mercato_dead_letters", "Messages a durable consumer gave "
                                   "up on, kept in the dead-letter stream (until replayed)",
                                   labels=CONSUMER)
        try:
            info = await js.stream_info(DLQ_STREAM, subjects_filter=f"{DLQ_SUBJECT_PREFIX}.>")
            counts = info.state.subjects or {}
        except NotFoundError:  # no dead-letter stream yet: none
            counts = {}
        for durable in durables:
            family.add_metric([durable], counts.get(f"{DLQ_SUBJECT_PREFIX}.{durable}", 0))
        return family

    @staticmethod
    async def _probe(name: str, documentation: str, read: Probe) -> list:
        return [_gauge(name, documentation, await read())]


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


@cache
def scrape_metrics() -> ScrapeMetrics:
    """This process's scrape-time metrics, in the default registry from first use on."""
    collector = ScrapeMetrics()
    REGISTRY.register(collector)
    return collector


async def exposition(runtime: Any) -> bytes:
    """The whole default registry in the Prometheus text format, its scrape-time
    metrics refreshed first (what a service's ``GET /metrics`` answers)."""
    collector = scrape_metrics()
    await collector.refresh(runtime)
    return generate_latest()
