"""The trace store's HTTP API (aiohttp.web): OTLP/HTTP in, JSON out.

- ``POST /v1/traces``: an OTLP trace export (protobuf or JSON, gzip allowed) -> 200 with
  an empty ``ExportTraceServiceResponse`` in the request's encoding; 400 when the body is
  not one (the OTLP/HTTP spec: the client must not retry it), 415 for another type.
- ``GET /traces?order_id=&limit=&min_duration_ms=&service=&error=``: recent traces,
  newest first; ``GET /traces/{trace_id}``: every span of one trace, by start.
- ``GET /health/live``.

Errors are RFC 9457 problem+json naming the parameter at fault. The store is synchronous
SQLite on the event loop: one export costs a few milliseconds, and a single writer in a
single thread needs no locking.
"""

from __future__ import annotations

import json

from aiohttp import web

from mercato.tracestore.otlp import JSON, PROTOBUF, BadExport, decode, empty_response
from mercato.tracestore.queries import TRACE_ID, BadQuery, get_trace, list_traces, parse_filter
from mercato.tracestore.store import TraceStore

STORE = web.AppKey("store", TraceStore)


def problem(status: int, title: str, detail: str) -> web.Response:
    """An RFC 9457 problem response."""
    body = {"type": "https://mercato.dev/problems/" + title.lower().replace(" ", "-"),
            "title": title, "status": status, "detail": detail}
    return web.Response(status=status, body=json.dumps(body).encode(),
                        content_type="application/problem+json")


async def receive_traces(request: web.Request) -> web.Response:
    content_type = request.content_type
    if content_type not in (PROTOBUF, JSON):
        return problem(415, "Unsupported Media Type",
                       f"Content-Type must be {PROTOBUF} or {JSON}, not {content_type}")
    try:
        body = await request.read()
        spans, orders = decode(body, content_type,
                               request.headers.get("Content-Encoding", ""))
    except BadExport as exc:
        return problem(400, "Bad Request", str(exc))
    request.app[STORE].ingest(spans, orders)
    payload, kind = empty_response(content_type)
    return web.Response(body=payload, content_type=kind)


async def traces(request: web.Request) -> web.Response:
    try:
        f = parse_filter(request.query)
    except BadQuery as exc:
        return problem(400, "Bad Request", f"query parameter {exc.parameter}: {exc}")
    items = list_traces(request.app[STORE].db, f)
    return web.json_response({"items": items})


async def one_trace(request: web.Request) -> web.Response:
    trace_id = request.match_info["trace_id"].lower()
    if not TRACE_ID.match(trace_id):
        return problem(400, "Bad Request",
                       f"trace_id {trace_id[:64]!r} is not 32 hexadecimal digits")
    spans = get_trace(request.app[STORE].db, trace_id)
    if spans is None:
        return problem(404, "Not Found", f"trace {trace_id} is not in the store (unknown, "
                                         "not exported yet, or dropped as the oldest)")
    return web.json_response({"trace_id": trace_id, "spans": spans})


async def live(_request: web.Request) -> web.Response:
    return web.json_response({"status": "live"})


def create_app(store: TraceStore, *, max_request_bytes: int = 32 * 1024 * 1024
               ) -> web.Application:
    """The store's web app; the store is opened on start-up and closed on clean-up."""
    app = web.Application(client_max_size=max_request_bytes)
    app[STORE] = store
    app.router.add_post("/v1/traces", receive_traces)
    app.router.add_get("/traces", traces)
    app.router.add_get("/traces/{trace_id}", one_trace)
    app.router.add_get("/health/live", live)

    async def lifecycle(_app: web.Application):
        store.open()
        yield
        store.close()

    app.cleanup_ctx.append(lifecycle)
    return app
