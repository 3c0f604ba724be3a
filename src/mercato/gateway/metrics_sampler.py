"""The last minutes of the platform in numbers, for the console's charts:
``GET /api/v1/ops/metrics/series`` (admin).

A task in the gateway samples, every ``every`` seconds, what the platform already measures:
the gateway's own request histogram (``chassis/telemetry/http_metrics.py``: every request,
by the upstream service that answered) and orders' checkout counter
(``mercato_checkouts_total``, scraped from each orders instance's ``/metrics`` found in the
registry view). Each point is the difference from the sample before: requests/s, 5xx
answers/s and p95 latency per upstream service, checkouts confirmed and cancelled. Points
are kept in a ring buffer (``keep`` of them: ten minutes at the default 5 s). Each gateway
replica samples its own traffic; a replica started a minute ago shows one minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from ssl import SSLContext

import aiohttp
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mercato.chassis.calls.registry import Instance
from mercato.chassis.logging import get_logger
from mercato.chassis.telemetry.http_metrics import GATEWAY_REGISTRY
from mercato.gateway.errors import Reply

log = get_logger(__name__)
SERIES_PATH = "/api/v1/ops/metrics/series"
DURATION = "http_server_request_duration_seconds"
CHECKOUTS = "mercato_checkouts_total"
Fetch = Callable[[str], Awaitable[str]]
Counts = dict[str, dict]  # service -> {"count", "errors", "buckets": {le: cumulative}}


def gateway_counts(registry: CollectorRegistry) -> Counts:
    """The gateway's request histogram summed per upstream service."""
    counts: Counts = {}
    for family in registry.collect():
        if family.name != DURATION:
            continue
        for s in family.samples:
            service = s.labels.get("mercato_upstream_service", "-")
            entry = counts.setdefault(service, {"count": 0.0, "errors": 0.0, "buckets": {}})
            if s.name.endswith("_count"):
                entry["count"] += s.value
                if s.labels.get("http_response_status_code", "").startswith("5"):
                    entry["errors"] += s.value
            elif s.name.endswith("_bucket"):
                le = float(s.labels["le"])
                entry["buckets"][le] = entry["buckets"].get(le, 0.0) + s.value
    return counts


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus' ``histogram_quantile`` over cumulative bucket counts (seconds); None
    without observations."""
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for le, cumulative in ordered:
        if cumulative >= rank:
            if le == float("inf"):
                return lower
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return lower + (le - lower) * share
        lower, below = le, cumulative
    return lower


def checkout_totals(text: str) -> dict[str, float]:
    """``mercato_checkouts_total`` of one orders instance, summed per outcome."""
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == CHECKOUTS:
                outcome = s.labels.get("outcome", "?")
                totals[outcome] = totals.get(outcome, 0.0) + s.value
    return totals


def point(at: float, seconds: float, before: Counts, now: Counts,
          checkouts: dict[str, float]) -> dict:
    services = {}
    for name, entry in sorted(now.items()):
        old = before.get(name, {"count": 0.0, "errors": 0.0, "buckets": {}})
        count = max(entry["count"] - old["count"], 0.0)
        errors = max(entry["errors"] - old["errors"], 0.0)
        window = {le: max(c - old["buckets"].get(le, 0.0), 0.0)
                  for le, c in entry["buckets"].items()}
        p95 = quantile(0.95, window)
        services[name] = {"rps": round(count / seconds, 3),
                          "errors": round(errors / seconds, 3),
                          "p95_ms": None if p95 is None else round(p95 * 1000, 1)}
    return {"at": at, "services": services,
            "checkouts": {k: int(v) for k, v in sorted(checkouts.items())}}


class MetricsSampler:
    def __init__(self, instances: Callable[[], Iterable[Instance]], *, every: float = 5.0,
                 keep: int = 120, registry: CollectorRegistry = GATEWAY_REGISTRY,
                 clock: Callable[[], float] = time.time, fetch: Fetch | None = None,
                 ssl: SSLContext | None = None) -> None:
        self.every = every
        self._ssl = ssl  # mTLS: the gateway's client certificate for the services' /metrics
        self.points: deque[dict] = deque(maxlen=keep)
        self._instances = instances
        self._registry = registry
        self._clock = clock
        self._fetch = fetch
        self._last: tuple[float, Counts] | None = None
        self._checkouts: dict[str, dict[str, float]] = {}  # instance id -> totals
        self._task: asyncio.Task | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._fetch is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=2),
                connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True))
            self._fetch = self._get
        await self.sample()
        self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.sample()
            except Exception as exc:  # one bad sample must not stop the charts
                log.warning("metrics_sample_failed", error=str(exc) or type(exc).__name__)

    async def _get(self, url: str) -> str:
        async with self._http.get(url) as r:
            return await r.text()

    async def sample(self) -> None:
        at, now = self._clock(), gateway_counts(self._registry)
        checkouts = await self._checkout_deltas()
        if self._last is not None:
            seconds = max(at - self._last[0], 1e-3)
            self.points.append(point(at, seconds, self._last[1], now, checkouts))
        self._last = (at, now)

    async def _checkout_deltas(self) -> dict[str, float]:
        """Checkouts ended since the last sample, over every orders instance (a restarted
        instance's counter starts again from zero: its new total is the delta)."""
        deltas: dict[str, float] = {}
        orders = [i for i in self._instances() if i.service == "orders"]
        texts = await asyncio.gather(*(self._fetch(i.address + "/metrics") for i in orders),
                                     return_exceptions=True)
        for instance, text in zip(orders, texts, strict=True):
            if isinstance(text, BaseException):
                continue  # late or gone: counted at its next answer
            totals = checkout_totals(text)
            before = self._checkouts.get(instance.instance_id)
            self._checkouts[instance.instance_id] = totals
            if before is None:
                continue  # first sight of this instance: its past is not "the last seconds"
            for outcome, value in totals.items():
                old = before.get(outcome, 0.0)
                deltas[outcome] = deltas.get(outcome, 0.0) + (
                    value - old if value >= old else value)
        return deltas

    def series(self) -> dict:
        return {"every_s": self.every, "points": list(self.points)}


def answer_series(sampler: MetricsSampler, method: str, path: str) -> tuple[int, bytes]:
    if path != SERIES_PATH:
        raise Reply(404, f"no operations route {method} {path}")
    if method != "GET":
        raise Reply(405, f"{method} {path}: read-only (GET)")
    return 200, json.dumps(sampler.series()).encode()
