"""The exporter's own protobuf encoder writes what the SDK's encoder writes: the bytes
decode, with the official classes, to the same ExportTraceServiceRequest."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mercato.chassis.telemetry import parse_traceparent
from mercato.chassis.telemetry.otlp_proto import FastOTLPSpanExporter, encode_request

REMOTE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def finished_spans() -> list:
    """Spans of two processes (resources) and two scopes, with every kind of field."""
    kept = InMemorySpanExporter()
    for service in ("orders", "inventory"):
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(kept))
        http, db = provider.get_tracer("mercato.http", "1.0"), provider.get_tracer("mercato.db")
        with http.start_as_current_span(
                "POST /orders", parse_traceparent(REMOTE), trace.SpanKind.SERVER,
                {"http.request.method": "POST", "http.response.status_code": 202,
                 "negative": -5, "ratio": 0.25, "ok": True, "tags": ["a", "é"],
                 "big": 2**62, "counts": [1, 2]}) as root:
            root.add_event("retry", {"attempt": 2, "after": "timeout"})
            with db.start_as_current_span("transaction Orders.place", links=[
                    trace.Link(root.get_span_context(), {"why": "test"})]) as tx:
                tx.set_status(trace.StatusCode.ERROR, "rolled back: ConcurrencyError")
            with http.start_as_current_span("publish", kind=trace.SpanKind.PRODUCER) as p:
                p.set_status(trace.StatusCode.OK)
            with http.start_as_current_span("no attributes", kind=trace.SpanKind.CONSUMER):
                pass
    return list(kept.get_finished_spans())


def test_the_encoding_decodes_to_what_the_sdks_encoder_makes():
    spans = finished_spans()
    ours = ExportTraceServiceRequest.FromString(encode_request(spans))
    assert ours == encode_spans(spans)
    assert sum(len(s.spans) for r in ours.resource_spans for s in r.scope_spans) == 8


def test_a_long_name_and_many_attributes_take_multi_byte_lengths():
    provider = TracerProvider()
    kept = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    with provider.get_tracer("t").start_as_current_span(
            "x" * 300, attributes={f"key{i}": "v" * 200 for i in range(50)}):
        pass
    spans = kept.get_finished_spans()
    assert ExportTraceServiceRequest.FromString(encode_request(spans)) == encode_spans(spans)


@pytest.fixture
def receiver():
    bodies: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


def test_the_exporter_posts_the_batch_to_the_endpoints_traces_path(receiver):
    endpoint, bodies = receiver
    spans = finished_spans()
    exporter = FastOTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((path, body),) = bodies
    assert path == "/v1/traces"
    assert ExportTraceServiceRequest.FromString(body) == encode_spans(spans)
