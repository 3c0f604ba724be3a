"""The gateway's own answers about itself: its probes (``/health/live``, ``/ready``,
``/startup``) and its Prometheus exposition (``/metrics``), the process's default registry
and the gateway's own."""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mercato.chassis.runtime import Runtime
from mercato.chassis.telemetry.http_metrics import GATEWAY_REGISTRY
from mercato.gateway.errors import Reply
from mercato.gateway.readiness import not_ready

JSON = b"application/json"


async def answer_local(runtime: Runtime, method: str, path: str) -> tuple[int, list, bytes]:
    """(status, headers, body) for a probe or the scrape; 503 ``Reply`` when not ready,
    405 for a method other than GET or HEAD (they change nothing)."""
    if method not in ("GET", "HEAD"):
        raise Reply(405, f"{path} answers GET and HEAD only, not {method}",
                    {"Allow": "GET, HEAD"})
    if path == "/metrics":
        return 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], (
            generate_latest() + generate_latest(GATEWAY_REGISTRY))
    if path == "/health/live":
        return 200, [(b"content-type", JSON)], b'{"status":"live"}'
    if path in ("/health/ready", "/health/startup"):
        problem = await not_ready(runtime) if path == "/health/ready" else (
            None if await runtime.is_ready()
            else "the gateway is not connected to the registry")
        if problem is None:
            return 200, [(b"content-type", JSON)], json.dumps({"status": "ready"}).encode()
        raise Reply(503, problem, {"Retry-After": "1"})
    raise Reply(404, f"no route for {path}")
