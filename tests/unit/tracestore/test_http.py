"""The store over HTTP: real OTel SDK spans sent by the real OTLP/HTTP exporter, JSON and
gzip exports, and the query API's answers and problems."""

from __future__ import annotations

import asyncio
import gzip

import aiohttp
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.unit.tracestore.conftest import export, span, tid


def sdk_spans(service: str, instance: str):
    """Finished spans of a tiny checkout made with the real SDK (its own provider, so the
    global one is left alone)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({
        "service.name": service, "service.instance.id": instance, "service.version": "3"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /api/v1/orders", kind=SpanKind.SERVER):
        with tracer.start_as_current_span("saga reserve", attributes={
                "mercato.order_id": "ord-42", "mercato.saga.step": "reserve"}) as step:
            step.add_event("retry", {"attempt": 2})
            step.set_status(Status(StatusCode.ERROR, "out of stock"))
        with tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
            pass
    provider.shutdown()
    return memory.get_finished_spans()


async def test_spans_from_the_real_sdk_and_exporter_are_stored_and_read_back(served):
    url, _store = served
    spans = sdk_spans("orders", "orders-1-abc")
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces")
    result = await asyncio.to_thread(exporter.export, spans)
    exporter.shutdown()
    assert result.name == "SUCCESS"
    async with aiohttp.ClientSession(url) as http:
        async with http.get("/traces", params={"order_id": "ord-42"}) as r:
            assert r.status == 200
            (item,) = (await r.json())["items"]
        assert (item["root_service"], item["root_name"], item["span_count"]) == (
            "orders", "POST /api/v1/orders", 3)
        assert item["error"] is True and item["order_ids"] == ["ord-42"]
        async with http.get(f"/traces/{item['trace_id']}") as r:
            body = await r.json()
    by_name = {s["name"]: s for s in body["spans"]}
    root, step = by_name["POST /api/v1/orders"], by_name["saga reserve"]
    assert root["kind"] == "server" and root["parent_span_id"] == ""
    assert by_name["publish"]["kind"] == "producer"
    assert step["parent_span_id"] == root["span_id"]
    assert step["status"] == {"code": "error", "message": "out of stock"}
    assert step["attributes"] == {"mercato.order_id": "ord-42", "mercato.saga.step": "reserve"}
    assert step["events"][0]["name"] == "retry"
    assert step["events"][0]["attributes"] == {"attempt": 2}
    assert (step["service"], step["instance"], step["version"]) == ("orders", "orders-1-abc",
                                                                   "3")
    assert [s["start_unix_nano"] for s in body["spans"]] == sorted(
        s["start_unix_nano"] for s in body["spans"])


async def test_an_export_is_answered_with_an_empty_protobuf_response(served):
    url, _ = served
    async with aiohttp.ClientSession(url) as http:
        async with http.post("/v1/traces", data=gzip.compress(
                export("cart", span(9, 1)).SerializeToString()), headers={
                "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}) as r:
            assert r.status == 200
            assert r.content_type == "application/x-protobuf"
            assert ExportTraceServiceResponse.FromString(await r.read()) == \
                ExportTraceServiceResponse()
        async with http.get(f"/traces/{tid(9)}") as r:
            assert r.status == 200


async def test_a_json_export_is_answered_in_json(served):
    url, _ = served
    async with aiohttp.ClientSession(url) as http:
        async with http.post("/v1/traces", json={"resourceSpans": []}) as r:
            assert (r.status, await r.json()) == (200, {})


@pytest.mark.parametrize(("method", "path", "body", "status", "names"), [
    ("POST", "/v1/traces", b"\x0a\xff", 400, "protobuf"),
    ("GET", "/traces?limit=500", None, 400, "limit"),
    ("GET", "/traces?error=maybe", None, 400, "error"),
    ("GET", "/traces/not-a-trace-id", None, 400, "trace_id"),
    ("GET", f"/traces/{tid(77)}", None, 404, tid(77)),
])
async def test_bad_requests_get_a_problem_naming_what_is_wrong(served, method, path, body,
                                                               status, names):
    url, _ = served
    async with aiohttp.ClientSession(url) as http:
        async with http.request(method, path, data=body, headers={
                "Content-Type": "application/x-protobuf"}) as r:
            assert r.status == status
            assert r.content_type == "application/problem+json"
            problem = await r.json(content_type=None)
    assert problem["status"] == status and names in problem["detail"]


async def test_liveness_answers(served):
    url, _ = served
    async with aiohttp.ClientSession(url) as http, http.get("/health/live") as r:
        assert r.status == 200
