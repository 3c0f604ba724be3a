"""The gateway's answers at the edge, in process: a body that does not arrive in time is
a 408 that closes the connection; every API answer carries nosniff, DENY and no-referrer;
HEAD is GET without the body; OPTIONS and a method no route takes are answered from the
route's methods (a service's from its OpenAPI document); /metrics is an operator's."""

from __future__ import annotations

import asyncio
import json

import pytest

from mercato.chassis.calls.client import Reply
from mercato.gateway.local import MetricsAccess
from mercato.gateway.methods import ServiceMethods, routes
from mercato.gateway.openapi import Documents
from mercato.gateway.public_api import service_fetcher
from tests.unit.gateway.test_gateway import gateway  # noqa: F401 - the fixture

ORDERS_OPENAPI = {"paths": {"/api/v1/orders": {"get": {}, "post": {}},
                            "/api/v1/orders/{order_id}": {"get": {}},
                            "/api/v1/orders/{order_id}/cancel": {"post": {}}}}


class OpenApiClient:
    """Answers each service's GET /openapi.json (ServiceClient.call's interface)."""

    def __init__(self) -> None:
        self.calls = []

    async def call(self, service, method, path, **_kw):
        self.calls.append((service, method, path))
        return Reply(200, json.dumps(ORDERS_OPENAPI).encode(), {})


def methods_of(client: OpenApiClient) -> ServiceMethods:
    """The gateway's OPTIONS table, reading documents as the gateway does (one cache)."""
    methods = ServiceMethods(Documents(service_fetcher(client)))
    methods.client_calls = client.calls
    return methods


async def call(app, method, path, headers=(), body_parts=(b"",), client_addr="127.0.0.1",
               hang=False):
    """(status, {header: value}, body) for one request whose body arrives in
    ``body_parts``; with ``hang`` the client says more is coming and sends nothing more."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": list(headers),
             "client": (client_addr, 5000), "server": ("127.0.0.1", 8000)}
    parts, sent = list(body_parts), []

    async def receive():
        if not parts:
            await asyncio.Event().wait()  # a client that never sends the rest
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts) or hang}

    async def send(message):
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 5)
    head = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_body_that_does_not_arrive_in_time_is_a_408_that_closes(gateway):  # noqa: F811
    gateway.body_timeout = 0.2
    status, head, body = await call(
        gateway, "POST", "/api/v1/identity/users", [(b"content-length", b"100")],
        body_parts=(b"{", b'"a"'), hang=True)
    assert status == 408 and head["connection"] == "close"
    assert "did not arrive within 0.2 s" in json.loads(body)["detail"]
    assert gateway.upstreams.calls == []


@pytest.mark.parametrize(("path", "token"), [
    ("/api/v1/catalog/products", None), ("/api/v1/nope", None), ("/api/v1/orders", None),
    ("/api/v1/orders", "customer"), ("/api/v1/ops/services", "customer"),
    ("/health/live", None)])
async def test_api_answers_carry_the_security_headers(gateway, path, token):  # noqa: F811
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    status, head, _ = await call(gateway, "GET", path, headers)
    assert head["x-content-type-options"] == "nosniff", (path, status)
    assert head["x-frame-options"] == "DENY" and head["referrer-policy"] == "no-referrer"


async def test_head_is_forwarded_as_get_and_answers_gets_headers(gateway):  # noqa: F811
    status, head, _ = await call(gateway, "HEAD", "/api/v1/catalog/products")
    assert status == 200 and head["content-length"] == str(len(b'{"ok": true}'))
    assert gateway.upstreams.calls[0][1] == "GET"


async def test_head_of_an_authenticated_route_needs_the_token_as_get_does(gateway):  # noqa: F811
    assert (await call(gateway, "HEAD", "/api/v1/orders"))[0] == 401
    mine = await call(gateway, "HEAD", "/api/v1/orders", [(b"authorization", b"Bearer customer")])
    assert mine[0] == 200 and mine[1]["cache-control"] == "no-store"


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/orders", "GET, HEAD, POST, OPTIONS"),
    ("/api/v1/orders/o-1", "GET, HEAD, OPTIONS"),
    ("/api/v1/orders/o-1/cancel", "POST, OPTIONS"),
    ("/api/v1/ops/services", "GET, HEAD, OPTIONS"),
    ("/api/v1/ops/dead-letters/12/replay", "POST, OPTIONS"),
    ("/api/v1/storefront/orders/o-1", "GET, HEAD, OPTIONS"),
    ("/.well-known/jwks.json", "GET, HEAD, OPTIONS")])
async def test_options_is_a_204_listing_the_routes_methods(gateway, path, allow):  # noqa: F811
    gateway.methods = methods_of(OpenApiClient())
    status, head, body = await call(gateway, "OPTIONS", path)
    assert (status, head["allow"], body) == (204, allow, b"")
    assert "content-length" not in head and "access-control-allow-origin" not in head
    assert gateway.upstreams.calls == []  # answered by the gateway, never forwarded


async def test_options_of_no_route_is_a_404_and_the_document_is_read_once(gateway):  # noqa: F811
    gateway.methods = methods_of(OpenApiClient())
    assert (await call(gateway, "OPTIONS", "/api/v1/orders/o-1/nope"))[0] == 404
    assert (await call(gateway, "OPTIONS", "/api/v1/orders"))[0] == 204
    assert (await call(gateway, "OPTIONS", "/api/v1/nope"))[0] == 404
    assert gateway.methods.client_calls == [("orders", "GET", "/openapi.json")]


async def test_a_method_no_route_takes_is_a_405_with_allow(gateway):  # noqa: F811
    gateway.methods = methods_of(OpenApiClient())
    status, head, body = await call(gateway, "TRACE", "/api/v1/orders",
                                    [(b"x-echo", b"echo-me")])
    assert status == 405 and head["allow"] == "GET, HEAD, POST, OPTIONS"
    assert b"echo-me" not in body and gateway.upstreams.calls == []


async def test_a_services_own_405_names_every_method_of_the_path(gateway):  # noqa: F811
    async def refuses(*_args, **_kw):  # FastAPI: the first route that matched, POST only
        return 405, [(b"content-type", b"application/problem+json"),
                     (b"allow", b"POST")], b'{"status": 405}'
    gateway.upstreams.forward = refuses
    gateway.methods = methods_of(OpenApiClient())
    status, head, _ = await call(gateway, "DELETE", "/api/v1/orders",
                                 [(b"authorization", b"Bearer customer")])
    assert status == 405 and head["allow"] == "GET, HEAD, POST, OPTIONS"


def test_a_path_parameter_is_one_segment():
    [(pattern, verbs)] = routes({"/api/v1/orders/{order_id}": {"get": {}, "parameters": []}})
    assert verbs == {"GET"}
    assert pattern.match("/api/v1/orders/o-1") and not pattern.match("/api/v1/orders/a/b")


@pytest.mark.parametrize(("addr", "headers", "token", "status"), [
    ("127.0.0.1", [], "", 200),
    ("::1", [], "", 200),
    ("203.0.113.9", [], "", 403),
    ("127.0.0.1", [(b"x-forwarded-for", b"203.0.113.9")], "", 403),  # via a local proxy
    ("203.0.113.9", [(b"authorization", b"Bearer scrape-me")], "scrape-me", 200),
    ("203.0.113.9", [(b"authorization", b"Bearer wrong")], "scrape-me", 403),
])
async def test_metrics_are_served_to_operators_only(gateway, addr, headers, token, status):  # noqa: F811
    gateway.metrics = MetricsAccess.parse("127.0.0.1,::1", token)
    got, _, body = await call(gateway, "GET", "/metrics", headers, client_addr=addr)
    assert got == status, body[:200]
    assert (b"# TYPE" in body) == (status == 200)


async def test_options_reads_the_document_the_contract_already_read():
    client = OpenApiClient()
    documents = Documents(service_fetcher(client))
    await documents.of("orders")  # as the published contract does when combined
    methods = ServiceMethods(documents)
    assert await methods.allow("/api/v1/orders/o-1/cancel") == ("orders", "POST, OPTIONS")
    assert client.calls == [("orders", "GET", "/openapi.json")]  # one read, one cache
