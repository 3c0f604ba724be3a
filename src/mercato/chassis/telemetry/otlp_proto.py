"""The OTLP/HTTP span exporter with a faster protobuf encoder.

Why by hand: the SDK's exporter (``opentelemetry-exporter-otlp-proto-http``) builds a
protobuf object for every span, attribute and value in Python before serialising; that
was half of what tracing cost a service's process, on a thread that holds the GIL the
event loop needs. Measured on this machine (benchmarks/bench_span_export.py, figures in
benchmarks/RESULTS.md): this one takes under a third of the SDK encoder's CPU per span. It
writes the same wire format (``opentelemetry/proto/trace/v1/trace.proto``) straight into a
byte buffer and keeps the encoding of each recurring attribute (a key with its value) in a
small cache.
The bytes decode, with the official classes, to the message the SDK's encoder makes (a
unit test checks it). Everything else — endpoint, headers, compression, timeouts, retries
— is the SDK's exporter's own.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

_fixed64 = struct.Struct("<Q").pack
_double = struct.Struct("<d").pack


class FastOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` whose batches are encoded by ``encode_request``."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        client = getattr(self, "_client", None)
        if client is None or self._shutdown:  # another SDK version: its own way
            return super().export(spans)
        result = client.export(encode_request(spans))
        return SpanExportResult.SUCCESS if result.success else SpanExportResult.FAILURE


def encode_request(spans: Sequence[ReadableSpan]) -> bytes:
    """An ``ExportTraceServiceRequest``: spans grouped by resource, then by scope."""
    groups: dict[int, tuple[object, dict[tuple, bytearray]]] = {}
    for span in spans:
        scope = span.instrumentation_scope
        key = (scope.name, scope.version or "") if scope else ("", "")
        _res, scopes = groups.setdefault(id(span.resource), (span.resource, {}))
        buf = scopes.get(key)
        if buf is None:
            buf = scopes[key] = bytearray()
        _field(buf, 2, _span(span))  # ScopeSpans.spans
    out = bytearray()
    for resource, scopes in groups.values():
        body = bytearray()
        _field(body, 1, _attributes(1, resource.attributes))  # ResourceSpans.resource
        for (name, version), spans_buf in scopes.items():
            scope = bytearray()
            _field(scope, 1, _scope(name, version))  # ScopeSpans.scope
            scope += spans_buf
            _field(body, 2, scope)  # ResourceSpans.scope_spans
        _field(out, 1, body)  # ExportTraceServiceRequest.resource_spans
    return bytes(out)


def _span(span: ReadableSpan) -> bytearray:
    ctx = span.context
    buf = bytearray()
    _field(buf, 1, ctx.trace_id.to_bytes(16, "big"))
    _field(buf, 2, ctx.span_id.to_bytes(8, "big"))
    if span.parent is not None:
        _field(buf, 4, span.parent.span_id.to_bytes(8, "big"))
    _field(buf, 5, span.name.encode())
    buf += b"\x30"  # 6: kind, varint; OTLP counts from UNSPECIFIED
    buf.append(span.kind.value + 1)
    buf += b"\x39" + _fixed64(span.start_time or 0)  # 7: fixed64
    buf += b"\x41" + _fixed64(span.end_time or 0)  # 8: fixed64
    buf += _attributes(9, span.attributes)
    for event in span.events:
        item = bytearray(b"\x09" + _fixed64(event.timestamp))  # 1: time, fixed64
        _field(item, 2, event.name.encode())
        item += _attributes(3, event.attributes)
        _field(buf, 11, item)
    for link in span.links:
        item = bytearray()
        _field(item, 1, link.context.trace_id.to_bytes(16, "big"))
        _field(item, 2, link.context.span_id.to_bytes(8, "big"))
        item += _attributes(4, link.attributes)
        item += b"\x35" + _flags(link.context)  # 6: flags, fixed32
        _field(buf, 13, item)
    status = bytearray()
    if code := span.status.status_code.value:
        if span.status.description:
            _field(status, 2, span.status.description.encode())
        status += bytes((0x18, code))  # 3: code, varint
    _field(buf, 15, status)  # present even when unset, as the SDK's encoder writes it
    buf += b"\x85\x01" + _flags(span.parent)  # 16: flags, fixed32
    return buf


def _flags(parent) -> bytes:
    """W3C flags aside, bit 8 says "is the parent remote known", bit 9 "it is remote"."""
    return (0x100 | (0x200 if parent is not None and parent.is_remote else 0)).to_bytes(
        4, "little")


def _scope(name: str, version: str) -> bytearray:
    buf = bytearray()
    _field(buf, 1, name.encode())
    if version:
        _field(buf, 2, version.encode())
    return buf


def _attributes(number: int, attributes) -> bytes:
    if not attributes:
        return b""
    return b"".join(_key_value(number, k, v) for k, v in attributes.items())


@lru_cache(maxsize=4096)
def _cached(number: int, key: str, value) -> bytes:
    return _encode_key_value(number, key, value)


def _key_value(number: int, key: str, value) -> bytes:
    if isinstance(value, list):
        value = tuple(value)
    try:
        return _cached(number, key, value)
    except TypeError:  # unhashable: encoded every time
        return _encode_key_value(number, key, value)


def _encode_key_value(number: int, key: str, value) -> bytes:
    kv = bytearray()
    _field(kv, 1, key.encode())
    _field(kv, 2, _any_value(value))
    out = bytearray()
    _field(out, number, kv)
    return bytes(out)


def _any_value(value) -> bytearray:
    buf = bytearray()
    if isinstance(value, str):
        _field(buf, 1, value.encode())
    elif isinstance(value, bool):
        buf += b"\x10\x01" if value else b"\x10\x00"
    elif isinstance(value, int):
        buf.append(0x18)
        buf += _varint(value & 0xFFFFFFFFFFFFFFFF)  # int64: two's complement
    elif isinstance(value, float):
        buf += b"\x21" + _double(value)
    elif isinstance(value, tuple | list):
        array = bytearray()
        for item in value:
            _field(array, 1, _any_value(item))
        _field(buf, 5, array)
    else:
        _field(buf, 1, str(value).encode())
    return buf


def _field(buf: bytearray, number: int, payload: bytes | bytearray) -> None:
    """A length-delimited field (wire type 2)."""
    buf += _TAGS[number]
    size = len(payload)
    if size < 0x80:
        buf.append(size)
    else:
        buf += _varint(size)
    buf += payload


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_TAGS = {number: _varint(number << 3 | 2) for number in range(1, 16)}
