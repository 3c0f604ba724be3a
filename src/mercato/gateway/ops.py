"""Operations routes answered by the gateway itself (admin only; checked by the caller)."""

from __future__ import annotations

import json
import re
from typing import NoReturn

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import list_dead_letters
from mercato.chassis.runtime import Runtime
from mercato.gateway.errors import Reply
from mercato.gateway.proxy import Upstreams
from mercato.gateway.targets import TARGETS_PATH, answer_targets
from mercato.gateway.traces import answer_traces, is_trace_path

log = get_logger(__name__)
DEAD_LETTER_LIMIT = 100
SAGA_PATH = re.compile(r"^/api/v1/ops/sagas/([A-Za-z0-9_.:-]{1,100})$")


async def answer_ops(runtime: Runtime, method: str, path: str,
                     upstreams: Upstreams | None = None,
                     query: bytes = b"") -> tuple[int, bytes]:
    if method == "GET" and path == "/api/v1/ops/services":
        items = [
            {"service": i.service, "instance_id": i.instance_id, "address": i.address,
             "version": i.version, "health": i.health, "pid": i.pid,
             "started_at": i.started_at, "last_heartbeat": i.heartbeat_at}
            for i in sorted(runtime.view.all(), key=lambda i: (i.service, i.instance_id))
        ]
        return 200, json.dumps({"items": items}).encode()
    if method == "GET" and path == TARGETS_PATH:
        return answer_targets(runtime.view.all())
    if method == "GET" and path == "/api/v1/ops/breakers":
        return 200, json.dumps(breakers(upstreams, runtime.client)).encode()
    if method == "GET" and path == "/api/v1/ops/dead-letters":
        return await _dead_letters(runtime)
    if method == "GET" and (match := SAGA_PATH.match(path)):
        return await _saga(runtime, match.group(1))
    if is_trace_path(path):
        return await answer_traces(method, path, query)
    return _problem(404, "Not Found", f"no operations route {method} {path}")


def breakers(upstreams: Upstreams | None, client: ServiceClient | None) -> dict:
    """The gateway's own view of each upstream service: what it proxies (``proxy``) and what
    it calls itself, e.g. sagas and keys (``client``). Services keep their own breakers for
    their calls; those are not collected here (docs/resilience.md)."""
    items = []
    for scope, owner in (("proxy", upstreams), ("client", client)):
        if owner is not None:
            items += [{"scope": scope, **entry} for entry in owner.resilience.snapshot()]
    return {"items": items}


async def _dead_letters(runtime: Runtime) -> tuple[int, bytes]:
    """The newest dead letters, oldest first, from the dead-letter stream (no payloads:
    ``mercato dlq replay <seq>`` works from the sequence)."""
    if runtime.js is None:
        return _problem(503, "Service Unavailable", "the gateway is not connected to NATS")
    try:
        letters = await _list(runtime.js)
    except Exception as exc:  # broker down or slow: say so rather than answer 500
        log.warning("dead_letters_unavailable", error=str(exc))
        return _problem(503, "Service Unavailable",
                        f"dead letters are unavailable: {type(exc).__name__}")
    return 200, json.dumps({"items": [d.summary() for d in letters]}).encode()


async def _saga(runtime: Runtime, order_id: str) -> tuple[int, bytes]:
    """Orders' account of one checkout saga, step by step; its 404 passes through."""
    try:
        reply = await runtime.client.call("orders", "GET", f"/internal/sagas/{order_id}")
    except Unavailable as exc:
        _unavailable(str(exc))
    if reply.status in (502, 503, 504):
        _unavailable(f"orders answered {reply.status}")
    return reply.status, reply.body


def _unavailable(detail: str) -> NoReturn:
    """End the request with the gateway's own 503 problem and Retry-After, as when no
    instance can take a proxied call."""
    raise Reply(503, detail, {"Retry-After": "1"})


async def _list(js) -> list:
    return await list_dead_letters(js, limit=DEAD_LETTER_LIMIT)


def _problem(status: int, title: str, detail: str) -> tuple[int, bytes]:
    body = {"type": f"https://mercato.dev/problems/{title.lower().replace(' ', '-')}",
            "title": title, "status": status, "detail": detail}
    return status, json.dumps(body).encode()
