"""A trace store served on a free port (aiohttp's TestServer) over a temp file, and
helpers that build OTLP export requests as real protobuf messages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span, Status

from mercato.tracestore import TraceStore, create_app

SECOND = 1_000_000_000


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def span(trace: int, span_id: int, parent: int = 0, *, name: str = "work", start: float = 0,
         ms: float = 10, kind: int = Span.SPAN_KIND_INTERNAL, error: bool = False,
         attrs: dict | None = None) -> Span:
    """A span of trace number ``trace`` starting ``start`` seconds after t0."""
    begin = int(1_700_000_000 * SECOND + start * SECOND)
    return Span(trace_id=trace.to_bytes(16, "big"), span_id=span_id.to_bytes(8, "big"),
                parent_span_id=parent.to_bytes(8, "big") if parent else b"", name=name,
                kind=kind, start_time_unix_nano=begin,
                end_time_unix_nano=begin + int(ms * 1_000_000),
                attributes=[kv(k, v) for k, v in (attrs or {}).items()],
                status=Status(code=Status.STATUS_CODE_ERROR if error else
                              Status.STATUS_CODE_UNSET, message="boom" if error else ""))


def export(service: str, *spans: Span, instance: str = "", version: str = "1"
           ) -> ExportTraceServiceRequest:
    """One export request from one process (its resource) with ``spans``."""
    request = ExportTraceServiceRequest()
    rs: ResourceSpans = request.resource_spans.add()
    rs.resource.attributes.extend([kv("service.name", service),
                                   kv("service.instance.id", instance or f"{service}-1"),
                                   kv("service.version", version)])
    rs.scope_spans.add().spans.extend(spans)
    return request


def tid(trace: int) -> str:
    return trace.to_bytes(16, "big").hex()


@pytest.fixture
def store(tmp_path):
    s = TraceStore(tmp_path / "traces" / "traces.db", max_traces=1000, max_bytes=2**30)
    s.open()
    yield s
    s.close()


def ingest(store: TraceStore, request: ExportTraceServiceRequest) -> None:
    from mercato.tracestore.otlp import PROTOBUF, decode

    store.ingest(*decode(request.SerializeToString(), PROTOBUF))


@pytest.fixture
async def served(tmp_path):
    """(base URL, store) of a store app running on a free port."""
    store = TraceStore(tmp_path / "served" / "traces.db", max_traces=1000, max_bytes=2**30)
    server = TestServer(create_app(store), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), store
    await server.close()
