"""The service client over a transport that needs no network (chassis/calls/transport.py):
the whole client runs — its token, request id, deadline, idempotency key, retries and
bounded replies — with each attempt answered by an app in process."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request, Response

from mercato.chassis import Unavailable
from mercato.chassis.calls import CallPolicy
from mercato.chassis.context import DEADLINE_HEADER
from tests.support.service_client import AppTransport, service_client
from tests.support.service_http import WORKLOAD_KEYS


def catalog_app(statuses: list[int]) -> tuple[FastAPI, list[dict]]:
    """An app answering each request with the next of ``statuses`` (then 200)."""
    app, seen = FastAPI(), []

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> Response:
        seen.append(dict(request.headers))
        status = statuses.pop(0) if statuses else 200
        return Response(b'{"n": %d}' % len(seen), status_code=status,
                        media_type="application/json")

    @app.get("/big")
    async def big() -> Response:
        return Response(b"x" * 2048)

    return app, seen


def client_of(app: FastAPI, replicas: int = 1):
    return service_client("orders", ["catalog"], AppTransport({"catalog": app}),
                          CallPolicy(backoff=0.001), replicas=replicas)


async def test_a_call_carries_the_callers_token_for_the_callee_and_its_deadline():
    app, seen = catalog_app([])
    reply = await client_of(app).call("catalog", "POST", "/echo", json_body={"a": 1},
                                      idempotency_key="k1", timeout=2.0)
    assert (reply.status, reply.json()) == (200, {"n": 1})
    token = seen[0]["authorization"].removeprefix("Bearer ")
    assert WORKLOAD_KEYS.identity("catalog").verify(token).subject == "orders"
    assert seen[0]["idempotency-key"] == "k1"
    assert DEADLINE_HEADER.lower() in seen[0]


async def test_a_safe_call_is_retried_on_other_instances_after_a_5xx_an_unsafe_one_not():
    app, seen = catalog_app([503, 503])
    assert (await client_of(app, replicas=3).call("catalog", "GET", "/echo")).json() == {"n": 3}
    app, seen = catalog_app([503])
    assert (await client_of(app, replicas=3).call("catalog", "POST", "/echo")).status == 503
    assert len(seen) == 1


async def test_a_service_with_no_instance_or_a_reply_past_the_bound_is_unavailable():
    app, _ = catalog_app([])
    with pytest.raises(Unavailable):
        await client_of(app).call("payments", "GET", "/echo")
    client = service_client("orders", ["catalog"], AppTransport({"catalog": app}),
                            CallPolicy(backoff=0.001, attempts=1))
    client._max_reply = 1024
    with pytest.raises(Unavailable):
        await client.call("catalog", "GET", "/big")
