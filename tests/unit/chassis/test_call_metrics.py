"""The resilience of calls as metrics and span events: breaker states read at scrape time
(0 closed, 1 half-open, 2 open, on a fake clock), retries counted by reason, an exhausted
retry budget counted, and retries, refusals and a spent budget as events on the caller's
span."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mercato.chassis.calls.resilience import Resilience, Unavailable
from mercato.chassis.telemetry.call_metrics import CallCollector
from tests.unit.chassis.test_balance import Clock, catalog
from tests.unit.chassis.test_resilience_calls import Upstream, call, refused, resilience


def scrape(*sources: Resilience) -> dict[tuple, float]:
    """Every sample of a registry holding only a collector over ``sources``, parsed back
    from the text format: {(name, sorted labels): value}."""
    registry = CollectorRegistry()
    registry.register(CallCollector(lambda: sources))
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def labels(service: str = "catalog", scope: str = "client", **more) -> tuple:
    return tuple(sorted({"mercato_upstream_service": service, "mercato_call_scope": scope,
                         **more}.items()))


def recorded() -> tuple[object, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


async def test_the_breaker_state_reads_0_closed_2_open_then_1_half_open_as_the_clock_moves():
    clock = Clock()
    r = resilience(1, clock=clock, breaker_failures=2, breaker_open_for=5.0, attempts=1)
    state = ("mercato_breaker_state", labels())
    await call(r, Upstream())
    assert scrape(r)[state] == 0
    for _ in range(2):
        try:
            await call(r, Upstream(catalog_1=TimeoutError()))
        except Unavailable:
            pass
    assert scrape(r)[state] == 2
    clock.now += 5.0
    assert scrape(r)[state] == 1


async def test_a_scope_names_its_calls_and_two_scopes_calling_one_service_stay_apart():
    proxy = Resilience(catalog(1), scope="proxy")
    client = Resilience(catalog(1))  # a service client's, by default
    proxy.guard("catalog").breaker._open()
    client.guard("catalog")
    samples = scrape(proxy, client)
    assert samples[("mercato_breaker_state", labels(scope="proxy"))] == 2
    assert samples[("mercato_breaker_state", labels(scope="client"))] == 0


async def test_retries_are_counted_by_how_the_attempt_before_failed():
    r = resilience(3)
    await call(r, Upstream(catalog_1=refused()))
    await call(r, Upstream(catalog_2=503))
    await call(r, Upstream(catalog_3=TimeoutError()))
    samples = scrape(r)
    for reason in ("refused", "status", "timeout"):
        assert samples[("mercato_retries_total", labels(mercato_retry_reason=reason))] == 1
    assert samples[("mercato_retry_budget_exhausted_total", labels())] == 0


async def test_a_spent_retry_budget_is_counted_and_is_an_event_on_the_callers_span():
    r = resilience(2, budget_ratio=0.0, budget_min_per_second=0.0)
    tracer, exporter = recorded()
    with tracer.start_as_current_span("caller"):
        assert await call(r, Upstream(catalog_1=503)) == 503
    assert scrape(r)[("mercato_retry_budget_exhausted_total", labels())] == 1
    [span] = exporter.get_finished_spans()
    assert [e.name for e in span.events] == ["retry_budget_exhausted"]


async def test_a_retry_is_an_event_on_the_callers_span_naming_the_service_and_the_reason():
    tracer, exporter = recorded()
    with tracer.start_as_current_span("caller"):
        await call(resilience(2), Upstream(catalog_1=TimeoutError()))
    [span] = exporter.get_finished_spans()
    [event] = span.events
    assert event.name == "retry"
    assert dict(event.attributes) == {
        "mercato.upstream.service": "catalog", "http.request.resend_count": 1,
        "mercato.retry.reason": "timeout", "mercato.retry.after": "catalog-1: timed out"}


async def test_an_open_breaker_and_a_full_bulkhead_are_events_on_the_callers_span():
    tracer, exporter = recorded()
    r = resilience(1, breaker_failures=1, attempts=1)
    full = resilience(1, bulkhead_limit=1)
    full.guard("catalog").bulkhead.try_enter()  # the one slot is taken
    with tracer.start_as_current_span("caller"):
        for attempt in (r, r, full):
            try:
                await call(attempt, Upstream(catalog_1=TimeoutError()))
            except Unavailable:
                pass
    [span] = exporter.get_finished_spans()
    assert [e.name for e in span.events] == ["breaker_open", "bulkhead_full"]
    assert span.events[0].attributes["mercato.breaker_retry_after_s"] == 5
    assert span.events[1].attributes["mercato.bulkhead_limit"] == 1


async def test_bulkhead_in_flight_counts_the_calls_not_yet_finished():
    r = resilience(1)
    guard = r.guard("catalog")
    guard.bulkhead.try_enter()
    guard.bulkhead.try_enter()
    assert scrape(r)[("mercato_bulkhead_in_flight", labels())] == 2

