"""OTLP exports in every encoding the store accepts, decoded into spans."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from mercato.tracestore.otlp import JSON, PROTOBUF, BadExport, decode, span_details
from tests.unit.tracestore.conftest import export, span, tid


def test_a_protobuf_export_becomes_one_row_per_span_with_its_resource():
    request = export("orders", span(1, 1, name="POST /orders", kind=Span.SPAN_KIND_SERVER),
                     span(1, 2, parent=1, attrs={"mercato.order_id": "ord-1", "attempt": 2}),
                     instance="orders-1-abc", version="7")
    rows, orders = decode(request.SerializeToString(), PROTOBUF)
    assert [(r.name, r.kind, r.service, r.instance, r.version) for r in rows] == [
        ("POST /orders", Span.SPAN_KIND_SERVER, "orders", "orders-1-abc", "7"),
        ("work", Span.SPAN_KIND_INTERNAL, "orders", "orders-1-abc", "7")]
    assert rows[1].trace_id == tid(1)
    assert rows[1].parent_span_id == (1).to_bytes(8, "big").hex()
    assert rows[0].parent_span_id == ""
    assert orders == {("ord-1", tid(1))}
    attributes, events, links = span_details(rows[1].body)
    assert attributes == {"mercato.order_id": "ord-1", "attempt": 2}
    assert (events, links) == ([], [])


def test_a_gzipped_export_is_inflated():
    body = gzip.compress(export("cart", span(2, 1)).SerializeToString())
    rows, _ = decode(body, PROTOBUF, "gzip")
    assert [r.trace_id for r in rows] == [tid(2)]


def test_an_otlp_json_export_with_hex_ids_decodes_like_protobuf():
    request = export("payments", span(3, 5, parent=4, error=True, attrs={"amount": 1200}))
    doc = json_format.MessageToDict(request)
    item = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    for key in ("traceId", "spanId", "parentSpanId"):  # protobuf JSON gives base64; OTLP hex
        item[key] = base64.b64decode(item[key]).hex()
    rows, _ = decode(json.dumps(doc).encode(), JSON)
    (row,) = rows
    assert (row.trace_id, row.span_id, row.parent_span_id) == (
        tid(3), (5).to_bytes(8, "big").hex(), (4).to_bytes(8, "big").hex())
    assert row.status_code == 2 and row.status_message == "boom"
    assert span_details(row.body)[0] == {"amount": 1200}


@pytest.mark.parametrize(("body", "content_type", "encoding", "reason"), [
    (b"\x0a\xff\xff", PROTOBUF, "", "not an OTLP protobuf"),
    (b"{not json", JSON, "", "not an OTLP JSON"),
    (b"[1, 2]", JSON, "", "not an OTLP JSON object"),
    (b"\x1f\x8b\x08garbage", PROTOBUF, "gzip", "not valid gzip"),
    (b"", "text/plain", "", "is not application/x-protobuf"),
])
def test_a_body_that_is_not_an_export_is_refused_with_its_reason(body, content_type,
                                                                  encoding, reason):
    with pytest.raises(BadExport, match=reason):
        decode(body, content_type, encoding)
