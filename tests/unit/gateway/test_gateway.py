"""The gateway in process: routing table, access checks, limits, and its answers when no
instance is there — without a network (the upstream is an in-process fake)."""

from __future__ import annotations

import pytest

from mercato.chassis.calls.registry import Instance
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.security import AuthError, Principal
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from mercato.gateway.policy import Access, resolve
from tests.support.service_http import WORKLOAD_KEYS, client


class FakeView:
    def __init__(self, *instances: Instance) -> None:
        self.instances = list(instances)

    def ready(self, service: str) -> list[Instance]:
        return [i for i in self.instances if i.service == service]

    def all(self) -> list[Instance]:
        return list(self.instances)


class FakeAuth:
    """Accepts the tokens it was given; anything else is refused like a bad signature."""

    def __init__(self, **tokens: Principal) -> None:
        self.tokens = tokens
        self.checked = 0

    async def principal(self, authorization: str | None) -> Principal:
        self.checked += 1
        token = (authorization or "").removeprefix("Bearer ")
        if token not in self.tokens:
            raise AuthError("invalid token")
        return self.tokens[token]


class RecordingUpstreams:
    def __init__(self, view: FakeView) -> None:
        self.view = view
        self.calls: list[tuple[str, str, str, dict]] = []

    async def forward(self, service, method, path_qs, headers, body, repeatable, added=()):
        from mercato.gateway.proxy import NoInstance

        if not self.view.ready(service):
            raise NoInstance(service, "no ready instance is registered")
        sent = {k.decode(): v.decode() for k, v in [*headers, *added]}
        self.calls.append((service, method, path_qs, sent))
        return 200, [(b"content-type", b"application/json")], b'{"ok": true}'


CUSTOMER = Principal("u1", frozenset({"customer"}))
ADMIN = Principal("a1", frozenset({"customer", "admin"}))


@pytest.fixture
def gateway(tmp_path):
    settings = load_settings(data_dir=tmp_path, max_body_bytes=1000)
    runtime = Runtime("gateway", settings, make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    gw = Gateway(runtime)
    view = FakeView(Instance("catalog", "catalog-1", "http://c", "1", health="ready"),
                    Instance("orders", "orders-1", "http://o", "1", health="ready"))
    runtime.view = view
    gw.upstreams = RecordingUpstreams(view)
    gw.auth = FakeAuth(customer=CUSTOMER, admin=ADMIN)
    return gw


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", "/api/v1/identity/users", ("identity", Access.PUBLIC)),
    ("POST", "/api/v1/identity/token", ("identity", Access.PUBLIC)),
    ("GET", "/api/v1/identity/users/me", ("identity", Access.USER)),
    # a longer prefix wins over the segment: the ledger is loyalty's, under the profile
    ("GET", "/api/v1/identity/users/me/loyalty", ("loyalty", Access.USER)),
    ("GET", "/api/v1/identity/users/me/loyaltyx", ("identity", Access.USER)),
    ("GET", "/api/v1/identity/users/me/loyalty/x", ("loyalty", Access.USER)),
    ("GET", "/api/v1/catalog/products", ("catalog", Access.PUBLIC)),
    ("GET", "/api/v1/catalog/products/p1", ("catalog", Access.PUBLIC)),
    ("POST", "/api/v1/catalog/products", ("catalog", Access.ADMIN)),
    ("PATCH", "/api/v1/catalog/products/p1", ("catalog", Access.ADMIN)),
    ("GET", "/api/v1/inventory/stock/p1", ("inventory", Access.PUBLIC)),
    ("POST", "/api/v1/inventory/stock/p1/adjustments", ("inventory", Access.ADMIN)),
    ("POST", "/api/v1/orders", ("orders", Access.USER)),
    ("GET", "/api/v1/orders/o1", ("orders", Access.USER)),
    ("GET", "/api/v1/orders/summary", ("orders", Access.ADMIN)),
    ("GET", "/api/v1/ops/services", (None, Access.ADMIN)),
    ("GET", "/.well-known/jwks.json", ("identity", Access.PUBLIC)),
])
def test_the_routing_table_names_the_service_and_who_may_call(method, path, expected):
    route = resolve(method, path)
    assert (route.service, route.access) == expected


@pytest.mark.parametrize("path", ["/internal/reservations", "/api/v1/nope/x",
                                  "/api/v2/catalog/products", "/api/v3/orders",
                                  "/metrics/../internal"])
def test_paths_outside_the_public_api_are_not_routed(path):
    assert resolve("GET", path) is None


async def test_a_public_read_is_forwarded_with_the_gateways_request_id_and_trace(gateway):
    async with client(gateway) as c:
        r = await c.get("/api/v1/catalog/products?q=mug", headers={"X-Request-ID": "abc"})
    assert r.status_code == 200
    service, method, path_qs, sent = gateway.upstreams.calls[0]
    assert (service, method, path_qs) == ("catalog", "GET", "/api/v1/catalog/products?q=mug")
    assert sent["x-request-id"] == "abc" == r.headers["x-request-id"]
    assert r.headers["traceparent"].startswith("00-")
    assert gateway.auth.checked == 0


async def test_a_user_route_without_a_valid_token_never_reaches_the_service(gateway):
    async with client(gateway) as c:
        missing = await c.get("/api/v1/orders")
        bad = await c.get("/api/v1/orders", headers={"Authorization": "Bearer forged"})
    assert missing.status_code == bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    assert bad.headers["content-type"] == "application/problem+json"
    assert gateway.upstreams.calls == []


async def test_an_admin_route_is_forbidden_to_a_customer_and_open_to_an_admin(gateway):
    async with client(gateway) as c:
        as_customer = await c.post("/api/v1/catalog/products", json={},
                                   headers={"Authorization": "Bearer customer"})
        as_admin = await c.post("/api/v1/catalog/products", json={},
                                headers={"Authorization": "Bearer admin"})
    assert as_customer.status_code == 403
    assert as_admin.status_code == 200
    assert len(gateway.upstreams.calls) == 1


async def test_no_ready_instance_is_a_503_problem_with_retry_after(gateway):
    gateway.runtime.view.instances = []
    async with client(gateway) as c:
        r = await c.get("/api/v1/catalog/products")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["detail"] == "catalog is unavailable: no ready instance is registered"


async def test_a_failure_inside_the_gateway_is_a_500_problem_naming_the_request(gateway):
    async def broken(*args, **kwargs):
        raise KeyError("a bug")

    gateway.upstreams.forward = broken
    async with client(gateway) as c:
        r = await c.get("/api/v1/catalog/products", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "req-42"
    assert r.json()["detail"] == "the gateway failed: KeyError"


async def test_a_body_over_the_limit_is_413_with_or_without_a_content_length(gateway):
    async def chunks():
        for _ in range(5):
            yield b"x" * 300

    async with client(gateway) as c:
        declared = await c.post("/api/v1/orders", content=b"x" * 1001,
                                headers={"Authorization": "Bearer customer"})
        streamed = await c.post("/api/v1/orders", content=chunks(),
                                headers={"Authorization": "Bearer customer"})
    assert declared.status_code == streamed.status_code == 413
    assert gateway.upstreams.calls == []


async def test_ops_services_lists_the_registry(gateway):
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/services", headers={"Authorization": "Bearer admin"})
    assert r.status_code == 200
    assert [i["instance_id"] for i in r.json()["items"]] == ["catalog-1", "orders-1"]


class DownOrders:
    """A service client for which orders is down, or answers with a given reply."""

    def __init__(self, reply=None) -> None:
        self.reply = reply

    async def call(self, service, method, path, **_):
        from mercato.chassis import Unavailable

        if self.reply is None:
            raise Unavailable(service, "no ready instance is registered")
        return self.reply


@pytest.mark.parametrize("reply", [None, "503"])
async def test_the_saga_view_is_a_503_with_retry_after_when_orders_cannot_answer(
    gateway, reply,
):
    from mercato.chassis import Reply as ServiceReply

    gateway.runtime.client = DownOrders(ServiceReply(503, b"{}", {}) if reply else None)
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/sagas/order-1", headers={"Authorization": "Bearer admin"})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == "application/problem+json"


async def test_the_saga_view_passes_orders_answer_through(gateway):
    from mercato.chassis import Reply as ServiceReply

    gateway.runtime.client = DownOrders(ServiceReply(404, b'{"detail": "no saga"}', {}))
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/sagas/order-1", headers={"Authorization": "Bearer admin"})
        forbidden = await c.get("/api/v1/ops/sagas/order-1",
                                headers={"Authorization": "Bearer customer"})
    assert r.status_code == 404 and r.json() == {"detail": "no saga"}
    assert forbidden.status_code == 403
