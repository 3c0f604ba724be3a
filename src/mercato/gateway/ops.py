"""Operations routes answered by the gateway itself (admin only; checked by the caller)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import parse_qs

from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.context import request_id_var
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import list_dead_letters
from mercato.chassis.runtime import Runtime
from mercato.chassis.tls import client_ssl
from mercato.chassis.web.errors import problem_body
from mercato.gateway.audit import AuditTrail
from mercato.gateway.dead_letters import answer_dead_letter, is_dead_letter_path
from mercato.gateway.errors import Reply
from mercato.gateway.events_feed import EVENTS_PATH, answer_events
from mercato.gateway.metrics_sampler import SERIES_PATH, MetricsSampler, answer_series
from mercato.gateway.proxy import Upstreams
from mercato.gateway.release import DEPLOYMENTS_PATH, Deployments
from mercato.gateway.targets import TARGETS_PATH, answer_targets
from mercato.gateway.traces import answer_traces, is_trace_path

log = get_logger(__name__)
DEAD_LETTER_LIMIT = 100
SAGA_PATH = re.compile(r"^/api/v1/ops/sagas/([A-Za-z0-9_.:-]{1,100})$")
AUDIT_PATH = "/api/v1/ops/audit"


@dataclass
class ConsoleParts:
    """What the console's operations routes stand on, beside the runtime."""

    audit: AuditTrail | None = None
    sampler: MetricsSampler | None = None
    deployments: Deployments | None = None


def console_parts(runtime: Runtime) -> ConsoleParts:
    return ConsoleParts(
        AuditTrail(lambda: runtime.js),
        MetricsSampler(lambda: runtime.view.all() if runtime.view else (),
                       ssl=client_ssl(runtime.settings, runtime.service)),
        Deployments(runtime))


async def answer_ops(runtime: Runtime, method: str, path: str,
                     upstreams: Upstreams | None = None,
                     query: bytes = b"", parts: ConsoleParts | None = None
                     ) -> tuple[int, bytes]:
    if method == "GET" and path == "/api/v1/ops/services":
        items = [
            {"service": i.service, "instance_id": i.instance_id, "address": i.address,
             "grpc": i.grpc or None, "version": i.version, "health": i.health, "pid": i.pid,
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
    if is_dead_letter_path(path):
        return await answer_dead_letter(runtime.js, method, path, query)
    if method == "GET" and path == EVENTS_PATH:
        return await answer_events(runtime.js, query)
    parts = parts or ConsoleParts()
    if method == "GET" and path == AUDIT_PATH and parts.audit is not None:
        return await _audit(parts.audit, query)
    if path.startswith(SERIES_PATH) and parts.sampler is not None:
        return answer_series(parts.sampler, method, path)
    if path.startswith(DEPLOYMENTS_PATH) and parts.deployments is not None:
        return await parts.deployments.answer(method, path)
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


async def _audit(audit: AuditTrail, query: bytes) -> tuple[int, bytes]:
    args = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
    limit, before = args.get("limit", "50"), args.get("before", "")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise Reply(400, "limit: a whole number from 1 to 500")
    if before and not before.isdigit():
        raise Reply(400, "before: the seq of an entry")
    try:
        items = await audit.newest(int(limit), int(before) if before else None)
    except Exception as exc:  # broker down or slow: say so rather than answer 500
        log.warning("audit_unavailable", error=str(exc))
        raise Reply(503, f"the audit trail is unavailable: {type(exc).__name__}",
                    {"Retry-After": "1"}) from None
    return 200, json.dumps({"items": items}).encode()


async def _list(js) -> list:
    return await list_dead_letters(js, limit=DEAD_LETTER_LIMIT)


def _problem(status: int, title: str, detail: str) -> tuple[int, bytes]:
    return status, problem_body(status, title, detail, request_id_var.get())
