"""The audit trail: every admin state change the gateway routes, whoever makes it.

A request is audited when it changes state (not GET, HEAD or OPTIONS) on an admin route or
an operations route (catalog changes, stock adjustments, dead-letter replays, promotions,
rollbacks...) and its caller passed the admin check — the console, curl or a script alike.
One entry per request, written after the answer (its status is part of it) to the
JetStream stream ``AUDIT`` (file storage, bounded by count and age, oldest dropped first),
so every gateway replica writes to the same trail and ``GET /api/v1/ops/audit`` reads it
newest first. Writing never fails the request: a broker that does not take the entry is
logged (``audit_not_recorded``) with the entry itself, so the log keeps what the stream lost.
The operator's commands that change state without the gateway (``mercato keys rotate``,
``dlq replay``, ``deploy``/``promote``/``rollback``) write to the same stream on their own
subject (``platform/audit.py``), so the trail says which side an entry came from.
No API changes the trail: the stream denies message deletes and purges (a setting the
server lets no one cancel), no NATS user may delete it, and the gateway may only create it
when it is missing (the supervisor creates it first) — never update its limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from mercato.chassis.clock import iso, utc_now
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.servers import stream_replicas
from mercato.chassis.messaging.streams import DAY
from mercato.chassis.security import Principal
from mercato.gateway.policy import Access, Route

log = get_logger(__name__)
AUDIT_STREAM = "AUDIT"
AUDIT_SUBJECT = "audit.gateway"
OPERATOR_SUBJECT = "audit.cli"  # the operator's commands (platform/audit.py): its own subject
MAX_ENTRIES = 100_000
MAX_AGE = 365 * DAY
DETAIL_CHARS = 500
READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


def audit_stream_config(replicas: int | None = None) -> StreamConfig:
    """``replicas``: copies on a cluster (default ``MERCATO_NATS_REPLICAS``)."""
    return StreamConfig(
        name=AUDIT_STREAM, subjects=["audit.>"], retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE, max_msgs=MAX_ENTRIES, max_age=MAX_AGE,
        discard=DiscardPolicy.OLD, num_replicas=replicas or stream_replicas(),
        deny_delete=True, deny_purge=True,
        description="admin state changes, routed by the gateway or run by the CLI")


def audited(method: str, route: Route) -> bool:
    """Whether a request that passed the access check is written to the trail."""
    return method not in READ_ONLY and (route.access is Access.ADMIN or route.service is None)


def what(body: bytes) -> str:
    """The request body as the trail shows it: compact JSON, cut at ``DETAIL_CHARS``."""
    if not body:
        return ""
    try:
        text = json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)
    except ValueError:
        return f"<{len(body)} bytes, not JSON>"
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "…"


class AuditTrail:
    def __init__(self, js_of: Callable[[], object], clock: Callable[[], datetime] = utc_now
                 ) -> None:
        self._js_of = js_of  # the runtime's JetStream context, known once it has opened
        self._clock = clock
        self._ready = False

    async def _js(self):
        js = self._js_of()
        if js is None:
            raise ConnectionError("the gateway is not connected to NATS")
        if not self._ready:  # created if missing, never changed: the gateway may not
            try:
                await js.stream_info(AUDIT_STREAM)
            except NotFoundError:
                await js.add_stream(audit_stream_config())
            self._ready = True
        return js

    async def record(self, who: Principal, method: str, path: str, status: int,
                     request_id: str, body: bytes = b"", address: str = "") -> None:
        entry = {"at": iso(self._clock()), "actor": who.subject, "email": who.email,
                 "method": method, "path": path, "status": status,
                 "request_id": request_id, "detail": what(body), "address": address}
        try:
            js = await self._js()
            await js.publish(AUDIT_SUBJECT, json.dumps(entry).encode(), stream=AUDIT_STREAM,
                             timeout=5)
        except Exception as exc:  # never fail the request; the log keeps the entry
            log.warning("audit_not_recorded", error=str(exc) or type(exc).__name__, **entry)

    async def newest(self, limit: int = 50, before: int | None = None) -> list[dict]:
        """Entries newest first, each with its stream ``seq``; ``before`` pages back."""
        js = await self._js()
        try:
            info = await js.stream_info(AUDIT_STREAM)
        except NotFoundError:
            return []
        if not info.state.messages:
            return []
        first, last = info.state.first_seq, info.state.last_seq
        if before is not None:
            last = min(last, before - 1)
        found: list[dict] = []
        for seq in range(last, first - 1, -1):
            if len(found) >= limit:
                break
            try:
                msg = await js.get_msg(AUDIT_STREAM, seq)
            except NotFoundError:
                continue
            try:
                found.append({"seq": seq, **json.loads(msg.data)})
            except ValueError:
                continue
        return found
