"""Spans the chassis makes: a server span per request continuing the caller's trace, a
client span per call attempt whose context the attempt sends, a span per transaction
named after its caller, and the outbox write recording its context in the row."""

from __future__ import annotations

import contextlib

import pytest
from aiohttp import web
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from mercato.chassis import create_service
from mercato.chassis.calls.client import ServiceClient
from mercato.chassis.calls.registry import Instance
from mercato.chassis.calls.resilience import CallPolicy
from mercato.chassis.messaging import Outbox
from mercato.chassis.telemetry import format_traceparent, parse_traceparent
from mercato.contracts.orders import OrderCancelled
from mercato.gateway.proxy import Upstreams
from tests.support.service_http import client, service_runtime

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
test_tracer = trace.get_tracer("tests")


def ids(header: str) -> tuple[str, str]:
    _v, trace_id, span_id, _f = header.split("-")
    return trace_id, span_id


@pytest.mark.parametrize("header", [None, "", "nonsense", "01-" + CALLER[3:],
                                    "00-" + "0" * 32 + "-b7ad6b7169203331-01",
                                    "00-0af7651916cd43dd8448eb211c80319c-" + "0" * 16 + "-01"])
def test_an_absent_or_invalid_traceparent_starts_a_new_trace(header):
    assert parse_traceparent(header) is None


def test_a_traceparent_read_and_written_again_is_the_same_header():
    span = trace.get_current_span(parse_traceparent(CALLER.encode()))
    assert format_traceparent(span) == CALLER


@pytest.fixture
def app(tmp_path):
    router = APIRouter()

    @router.post("/things/{thing_id}")
    async def work(thing_id: str) -> dict:
        return {"thing": thing_id}

    @router.get("/broken")
    async def broken() -> dict:
        raise RuntimeError("a bug")

    return create_service(service_runtime("catalog", tmp_path), routers=[router],
                          migrations_dir=None)


async def test_a_request_is_a_server_span_continuing_the_callers_trace(app, spans):
    async with client(app) as c:
        r = await c.post("/things/t1", headers={"traceparent": CALLER})
    assert r.status_code == 200
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.SERVER and span.name == "POST /things/{thing_id}"
    assert (span.context.trace_id, span.parent.span_id) == (int(ids(CALLER)[0], 16),
                                                            int(ids(CALLER)[1], 16))
    assert span.attributes["http.route"] == "/things/{thing_id}"
    assert span.attributes["http.response.status_code"] == 200
    # the answer names this span: a client can go from the answer to its trace
    assert ids(r.headers["traceparent"]) == (ids(CALLER)[0], f"{span.context.span_id:016x}")


async def test_a_crash_is_an_error_span_and_probes_are_not_traced(app, spans):
    async with client(app) as c:
        crashed = await c.get("/broken")
        live = await c.get("/health/live")
    assert (crashed.status_code, live.status_code) == (500, 200)
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /broken" and span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    assert "traceparent" not in live.headers


class TwoInstances:
    routing = None

    def __init__(self, *addresses: str) -> None:
        self.instances = [Instance("catalog", f"catalog-{n}", a, "1", health="ready")
                          for n, a in enumerate(addresses, 1)]

    def ready(self, service):
        return list(self.instances)

    def all(self):
        return list(self.instances)


@contextlib.asynccontextmanager
async def servers(*statuses: int):
    """One real HTTP server per status; each notes the traceparent it received."""
    seen: list[tuple[int, str]] = []
    runners = []
    for status in statuses:
        async def answer(request: web.Request, status=status) -> web.Response:
            seen.append((status, request.headers.get("traceparent", "")))
            return web.json_response({}, status=status)

        server = web.Application()
        server.router.add_route("*", "/x", answer)
        runner = web.AppRunner(server)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
    try:
        yield TwoInstances(*(f"http://127.0.0.1:{r.addresses[0][1]}" for r in runners)), seen
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_each_attempt_of_a_call_is_a_client_span_whose_context_it_sends(tmp_path, spans):
    async with servers(503, 200) as (view, seen):
        sc = ServiceClient(view, service_runtime("orders", tmp_path).identity,
                           policy=CallPolicy(balancer="round_robin"))
        await sc.start()
        try:
            with test_tracer.start_as_current_span("handler") as parent:
                reply = await sc.call("catalog", "GET", "/x")
        finally:
            await sc.close()
    assert reply.status == 200
    attempts = sorted((s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT),
                      key=lambda s: s.start_time)
    assert [s.attributes["http.response.status_code"] for s in attempts] == [503, 200]
    assert [s.parent.span_id for s in attempts] == [parent.get_span_context().span_id] * 2
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in attempts[0].attributes
    assert attempts[1].attributes["http.request.resend_count"] == 1
    assert [ids(header)[1] for _status, header in seen] == [
        f"{s.context.span_id:016x}" for s in attempts]


async def test_the_gateway_sends_the_attempts_context_never_the_clients(spans):
    async with servers(200) as (view, seen):
        upstreams = Upstreams(view, CallPolicy())
        await upstreams.start()
        try:
            with test_tracer.start_as_current_span("gateway request"):
                await upstreams.forward("catalog", "GET", "/x",
                                        [(b"traceparent", CALLER.encode())], b"", True)
        finally:
            await upstreams.close()
    (attempt,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    ((_status, header),) = seen
    assert ids(header)[1] == f"{attempt.context.span_id:016x}"
    assert ids(header)[0] != ids(CALLER)[0]


class Orders:
    """A stand-in for a service's code that opens a transaction."""

    def __init__(self, db, outbox) -> None:
        self.db, self.outbox = db, outbox

    async def cancel(self) -> str:
        async with self.db.transaction() as tx:
            envelope = await self.outbox.add(tx, OrderCancelled(
                order_id="o-1", customer_id="u-1", reason="payment_declined", total=100,
                currency="USD"))
        return envelope.traceparent


async def test_a_transaction_is_a_span_named_after_its_caller_and_the_outbox_row_keeps_its_context(
        service_db_for, spans):
    db = await service_db_for("orders")
    orders = Orders(db, Outbox(db, "orders"))
    await orders.cancel()  # outside any trace: nothing recorded
    assert spans.get_finished_spans() == ()
    with test_tracer.start_as_current_span("request"):
        traceparent = await orders.cancel()
    tx, request = spans.get_finished_spans()
    assert tx.name == "transaction Orders.cancel"
    assert tx.parent.span_id == request.context.span_id
    # the write is an event on the transaction's span, which names the order
    assert [(e.name, e.attributes["mercato.event.type"]) for e in tx.events] == [
        ("outbox.add", "OrderCancelled")]
    assert tx.attributes["mercato.order_id"] == "o-1"
    assert ids(traceparent)[1] == f"{tx.context.span_id:016x}"
    rows = await db.fetch_all("SELECT traceparent FROM outbox ORDER BY seq")
    assert rows[0]["traceparent"] is None and rows[1]["traceparent"] == traceparent


class Store:
    """A repository with its own transaction wrapper, as several services have."""

    def __init__(self, db) -> None:
        self.db = db

    @contextlib.asynccontextmanager
    async def transaction(self):
        async with self.db.transaction() as tx:
            yield tx


class Reservations:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def reserve(self) -> None:
        async with self.store.transaction() as tx:
            await tx.execute("SELECT 1")


async def test_a_transaction_opened_through_a_stores_wrapper_is_named_after_the_handler(
        service_db_for, spans):
    db = await service_db_for("inventory")
    with test_tracer.start_as_current_span("request"):
        await Reservations(Store(db)).reserve()
    assert [s.name for s in spans.get_finished_spans()] == [
        "transaction Reservations.reserve", "request"]
