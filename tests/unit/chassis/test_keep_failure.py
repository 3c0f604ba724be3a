"""A failure in a trace that was not sampled is kept all the same: its own span, in a
trace of its own, linked to the trace it belongs to."""

from __future__ import annotations

import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mercato.chassis.telemetry import keep, keep_failure, parse_traceparent

UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


@pytest.fixture
def kept():
    exporter = InMemorySpanExporter()
    keep.install_keeper(Resource.create({"service.name": "orders"}),
                        SimpleSpanProcessor(exporter))
    yield exporter
    keep._keeper.clear()


def test_a_failure_outside_the_sample_is_kept_as_a_span_linked_to_its_trace(kept):
    unsampled = trace.get_current_span(parse_traceparent(UNSAMPLED))
    started = time.time_ns() - 5_000_000
    keep_failure(unsampled, "POST /api/v1/orders", SpanKind.SERVER, started,
                 {"http.response.status_code": 500}, "answered 500")
    (span,) = kept.get_finished_spans()
    assert span.name == "POST /api/v1/orders" and span.kind is SpanKind.SERVER
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "answered 500"
    assert dict(span.attributes) == {"http.response.status_code": 500,
                                     "mercato.kept": "error"}
    assert span.parent is None and span.start_time == started
    assert span.context.trace_id != unsampled.get_span_context().trace_id
    assert [link.context.span_id for link in span.links] == [0xB7AD6B7169203331]
    assert span.resource.attributes["service.name"] == "orders"


def test_a_failure_in_a_sampled_trace_is_not_kept_twice(kept, spans):
    with trace.get_tracer("tests").start_as_current_span("recorded") as recorded:
        keep_failure(recorded, "recorded", SpanKind.SERVER, time.time_ns(), {}, "failed")
    assert kept.get_finished_spans() == ()
