"""OTLP/HTTP trace exports decoded into rows for the store.

An export (``ExportTraceServiceRequest``) arrives as protobuf (the default of
``opentelemetry-exporter-otlp-proto-http``) or as OTLP JSON, possibly gzipped. Either way
it is parsed into the protobuf message (JSON through ``json_format``, after turning its
hex-encoded ids into the base64 that ``json_format`` expects) and then flattened: one
``SpanRow`` per span, carrying its resource's ``service.name``, ``service.instance.id``
and ``service.version``, and the order ids (attribute ``mercato.order_id``) it names.
Attribute values read back as JSON values: strings, numbers, booleans, lists, objects
(kvlists), and bytes as hex.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any, NamedTuple

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

ORDER_ATTRIBUTE = "mercato.order_id"
KINDS = ("internal", "internal", "server", "client", "producer", "consumer")  # 0: unspecified
STATUS_CODES = ("unset", "ok", "error")
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class BadExport(ValueError):
    """The body is not an OTLP trace export (the reason says why)."""


class SpanRow(NamedTuple):
    """One span as the store keeps it: what queries filter and sort on in columns, the
    rest (attributes, events, links) in ``body``, the span's own protobuf encoding, read
    back only when the trace is asked for (decoding them on every export would cost
    several times the rest of ingestion)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    service: str
    instance: str
    version: str
    start_unix_nano: int
    end_unix_nano: int
    status_code: int
    status_message: str
    body: bytes


def empty_response(content_type: str) -> tuple[bytes, str]:
    """The answer to an accepted export, in the request's encoding (OTLP/HTTP spec)."""
    if content_type == JSON:
        return b"{}", JSON
    return ExportTraceServiceResponse().SerializeToString(), PROTOBUF


def decode(body: bytes, content_type: str, encoding: str = "") -> tuple[list[SpanRow],
                                                                         set[tuple[str, str]]]:
    """The spans of one export and the (order id, trace id) pairs they name; raises
    ``BadExport`` for a body that is not one (wrong type, bad gzip, bad protobuf/JSON)."""
    body = _inflate(body, encoding.strip().lower())
    request = ExportTraceServiceRequest()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise BadExport(f"the body is not an OTLP protobuf trace export: {exc}") from None
    elif content_type == JSON:
        try:
            json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), request)
        except (ValueError, TypeError, AttributeError, json_format.ParseError) as exc:
            raise BadExport(f"the body is not an OTLP JSON trace export: {exc}") from None
    else:
        raise BadExport(f"Content-Type {content_type or '(none)'} is not {PROTOBUF} or {JSON}")
    return _rows(request)


def _inflate(body: bytes, encoding: str) -> bytes:
    # aiohttp inflates a gzip/deflate request itself; a body still compressed (another
    # server, or a client that compressed without saying so) is inflated here.
    if encoding in ("", "identity") and not body.startswith(b"\x1f\x8b"):
        return body
    try:
        if body.startswith(b"\x1f\x8b"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadExport(f"the body is not valid {encoding or 'gzip'}: {exc}") from None
    return body


def _rows(request: ExportTraceServiceRequest) -> tuple[list[SpanRow], set[tuple[str, str]]]:
    rows: list[SpanRow] = []
    orders: set[tuple[str, str]] = set()
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", "unknown"))
        instance = str(resource.get("service.instance.id", ""))
        version = str(resource.get("service.version", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                trace_id = span.trace_id.hex()
                for kv in span.attributes:
                    if kv.key == ORDER_ATTRIBUTE:
                        order = _value(kv.value)
                        if order is not None and order != "":
                            orders.add((str(order), trace_id))
                status = span.status
                rows.append(SpanRow(
                    trace_id, span.span_id.hex(), span.parent_span_id.hex(), span.name,
                    span.kind, service, instance, version, span.start_time_unix_nano,
                    span.end_time_unix_nano, status.code, status.message,
                    span.SerializeToString()))
    return rows, orders


def kind_word(kind: int) -> str:
    """``server``, ``client``, ``producer``, ``consumer`` or ``internal`` (also for 0,
    unspecified, which the spec says to read as internal)."""
    return KINDS[kind] if 0 <= kind < len(KINDS) else "internal"


def status_word(code: int) -> str:
    return STATUS_CODES[code] if 0 <= code < len(STATUS_CODES) else "unset"


def span_details(body: bytes) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """A stored span's attributes, events and links, from its protobuf ``body``."""
    span = Span.FromString(body)
    events = [{"name": e.name, "time_unix_nano": e.time_unix_nano,
               "attributes": _attributes(e.attributes)} for e in span.events]
    links = [{"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
              "attributes": _attributes(link.attributes)} for link in span.links]
    return _attributes(span.attributes), events, links


def _attributes(key_values) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


def _value(value) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _hex_ids_to_base64(doc: Any) -> Any:
    """OTLP JSON writes trace and span ids as hex (unlike protobuf's JSON mapping, which
    wants base64 for bytes): convert them in place so ``json_format`` reads them."""
    if not isinstance(doc, dict):
        raise BadExport("the body is not an OTLP JSON object")
    for resource_spans in doc.get("resourceSpans") or ():
        for scope_spans in resource_spans.get("scopeSpans") or ():
            for span in scope_spans.get("spans") or ():
                _convert(span)
                for link in span.get("links") or ():
                    _convert(link)
    return doc


def _convert(item: dict) -> None:
    for key in _ID_FIELDS:
        value = item.get(key)
        if isinstance(value, str) and value:
            try:
                item[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise BadExport(f"{key} {value!r} is not hex") from None
