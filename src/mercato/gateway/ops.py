"""Operations routes answered by the gateway itself (admin only; checked by the caller)."""

from __future__ import annotations

import json

from mercato.chassis.runtime import Runtime


async def answer_ops(runtime: Runtime, method: str, path: str) -> tuple[int, bytes]:
    if method == "GET" and path == "/api/v1/ops/services":
        items = [
            {"service": i.service, "instance_id": i.instance_id, "address": i.address,
             "version": i.version, "health": i.health, "pid": i.pid,
             "started_at": i.started_at, "last_heartbeat": i.heartbeat_at}
            for i in sorted(runtime.view.all(), key=lambda i: (i.service, i.instance_id))
        ]
        return 200, json.dumps({"items": items}).encode()
    body = {"type": "https://mercato.dev/problems/not-found", "title": "Not Found",
            "status": 404, "detail": f"no operations route {method} {path}"}
    return 404, json.dumps(body).encode()
