"""An event's consumers join the trace of the request that caused it: the transaction
that wrote it -> relay's producer span -> consumer span, through a real NATS server; a redelivery is
counted (mercato_consumer_redeliveries_total)."""

from __future__ import annotations

import nats
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from mercato.chassis.messaging import (
    Consumers,
    NotYet,
    Outbox,
    Relay,
    Subscription,
    ensure_streams,
)
from tests.integration.messaging_kit import NatsServer, Pinged, eventually, messaging_db

pytestmark = pytest.mark.integration
request_tracer = trace.get_tracer("tests")


def redelivered() -> float:
    return REGISTRY.get_sample_value("mercato_consumer_redeliveries_total",
                                     {"messaging_consumer_group_name": "sub__pings"}) or 0.0


@pytest.fixture
def server(tmp_path):
    s = NatsServer(tmp_path / "nats")
    s.start()
    yield s
    s.stop()


async def test_a_consumer_span_is_the_child_of_the_publish_which_continues_the_write(
        server, tmp_path, spans):
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    pub_db, sub_db = messaging_db(tmp_path / "pub.db"), messaging_db(tmp_path / "sub.db")
    outbox = Outbox(pub_db, "testsvc")
    await ensure_streams(js, "testsvc")
    relay = Relay(outbox, js, poll=5.0)
    relay.start()
    handled: list[int] = []
    failed_once: list[int] = []

    async def handle(tx, envelope, event) -> None:
        if event.n == 2 and not failed_once:
            failed_once.append(1)
            raise NotYet("not yet")
        handled.append(event.n)

    consumers = Consumers("sub", sub_db, js, [Subscription("pings", (Pinged,), handle)],
                          backoff=(0.05,))
    redelivered_before = redelivered()
    await consumers.start()
    try:
        with request_tracer.start_as_current_span("POST /pings") as request:
            async with pub_db.transaction() as tx:
                await outbox.add(tx, Pinged(n=1))
                await outbox.add(tx, Pinged(n=2))

        async def both_handled():
            return sorted(handled) == [1, 2]

        assert await eventually(both_handled, 10.0)
    finally:
        await consumers.stop()
        await relay.stop()
        await nc.close()
    finished = spans.get_finished_spans()
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in finished} == {trace_id}
    by_id = {s.context.span_id: s for s in finished}
    (write,) = [s for s in finished if s.name.startswith("transaction ")]
    publishes = [s for s in finished if s.kind is SpanKind.PRODUCER]
    processes = [s for s in finished if s.kind is SpanKind.CONSUMER]
    assert [e.name for e in write.events] == ["outbox.add", "outbox.add"]
    assert len(publishes) == 2 and len(processes) == 3  # one redelivery
    for publish in publishes:  # each continues the transaction that wrote its row
        assert by_id[publish.parent.span_id] is write
        assert publish.attributes["messaging.system"] == "nats"
        assert publish.attributes["messaging.destination.name"] == "mercato.testsvc.Pinged"
    for process in processes:
        producer = by_id[process.parent.span_id]
        assert producer in publishes
        assert [link.context.span_id for link in process.links] == [producer.context.span_id]
        assert process.attributes["messaging.consumer.group.name"] == "sub__pings"
    assert redelivered() == redelivered_before + 1  # the NotYet's, counted
    waited = [p for p in processes if p.attributes.get("mercato.outcome") == "not_yet"]
    assert len(waited) == 1 and waited[0].status.status_code is StatusCode.UNSET
    assert waited[0].attributes["messaging.message.delivery_count"] == 1
