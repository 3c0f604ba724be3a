"""GET /api/v1/storefront/orders/{id}: the gateway's composed view of one order, with the
services played by an in-process stand-in for the chassis ServiceClient."""

from __future__ import annotations

import asyncio
import json

import pytest

from mercato.chassis import Reply as ServiceReply
from mercato.chassis import Unavailable
from mercato.chassis.runtime import Runtime, make_instance
from mercato.chassis.security import AuthError, Principal
from mercato.chassis.settings import load_settings
from mercato.gateway.app import Gateway
from mercato.gateway.storefront import Storefront
from tests.support.service_http import WORKLOAD_KEYS, client

ORDER = {"id": "o-1", "customer_id": "u1", "status": "confirmed", "total": 30,
         "items": [{"product_id": "p-1", "quantity": 1}, {"product_id": "p-2", "quantity": 2},
                   {"product_id": "p-1", "quantity": 1}]}
PAYMENTS = [{"id": "pay-1", "status": "voided"}, {"id": "pay-2", "status": "captured"}]
NOTES = [{"id": "n-1", "kind": "order_confirmed", "order_id": "o-1"}]


def ok(body: object, status: int = 200) -> ServiceReply:
    return ServiceReply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


class Services:
    """Answers each service's calls from ``answers[service]``: a reply, an exception to
    raise, or an awaitable factory (to hang or wait); records every call."""

    def __init__(self) -> None:
        self.answers = {
            "orders": ok(ORDER),
            "catalog": ok({"products": {"p-1": {"id": "p-1", "name": "Mug"}}}),
            "payments": ok({"items": PAYMENTS}),
            "shipping": ok({"items": []}),
            "notifications": ok({"items": NOTES}),
        }
        self.calls: list[tuple[str, str, str, dict, object]] = []

    async def call(self, service, method, path, *, json_body=None, headers=None, **_kw):
        self.calls.append((service, method, path, dict(headers or {}), json_body))
        answer = self.answers[service]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return await answer()
        return answer

    def called(self) -> set[str]:
        return {c[0] for c in self.calls}


class FakeAuth:
    async def principal(self, authorization):
        if authorization != "Bearer customer":
            raise AuthError("invalid token")
        return Principal("u1", frozenset({"customer"}))


USER = {"Authorization": "Bearer customer"}
FORWARDED = {"X-Mercato-User": "customer"}


@pytest.fixture
def services():
    return Services()


@pytest.fixture
def gateway(tmp_path, services):
    settings = load_settings(data_dir=tmp_path)
    runtime = Runtime("gateway", settings, make_instance("gateway", 1, "http://gw", "1"))
    runtime.identity = WORKLOAD_KEYS.identity("gateway")
    runtime.client = services
    gw = Gateway(runtime)
    gw.auth = FakeAuth()
    return gw


async def view(gateway, path="/api/v1/storefront/orders/o-1", headers=USER):
    async with client(gateway) as c:
        return await c.get(path, headers={**headers, "X-Request-ID": "req-42"})


async def test_the_view_composes_the_order_its_products_payment_shipment_and_messages(
    gateway, services,
):
    r = await view(gateway)
    assert r.status_code == 200
    body = r.json()
    assert body["order"] == ORDER
    assert body["products"] == {"p-1": {"id": "p-1", "name": "Mug"}, "p-2": None}
    assert body["payment"] == PAYMENTS[-1]
    assert body["shipment"] is None  # none scheduled yet
    assert body["notifications"] == NOTES
    paths = {c[0]: (c[1], c[2]) for c in services.calls}
    assert paths == {
        "orders": ("GET", "/api/v1/orders/o-1"),
        "catalog": ("POST", "/internal/products/lookup"),
        "payments": ("GET", "/api/v1/payments?order_id=o-1"),
        "shipping": ("GET", "/api/v1/shipping/shipments?order_id=o-1"),
        "notifications": ("GET", "/api/v1/notifications?order_id=o-1"),
    }
    lookup = next(c for c in services.calls if c[0] == "catalog")
    assert lookup[4] == {"ids": ["p-1", "p-2"]}


async def test_the_callers_token_and_request_id_go_to_every_service_acting_for_them(
    gateway, services,
):
    await view(gateway)
    for service, _m, _p, headers, _b in services.calls:
        assert "Authorization" not in headers  # the service client sends its own token
        if service == "catalog":  # a service-only lookup: the gateway acting for itself
            assert "X-Mercato-User" not in headers
        else:
            assert headers["X-Mercato-User"] == "customer"
        assert headers["X-Request-ID"] == "req-42"
        # the trace context is each attempt's own (the service client's client span)
        assert "traceparent" not in headers


@pytest.mark.parametrize(("service", "section"), [
    ("catalog", "products"), ("payments", "payment"), ("shipping", "shipment"),
    ("notifications", "notifications"),
])
async def test_a_dependency_that_is_down_is_a_section_marked_unavailable(
    gateway, services, service, section,
):
    services.answers[service] = Unavailable(service, "its circuit breaker is open",
                                            retry_after=3)
    r = await view(gateway)
    assert r.status_code == 200
    body = r.json()
    assert body[section] == {"unavailable": True,
                             "reason": f"{service}: its circuit breaker is open"}
    others = {"products", "payment", "shipment", "notifications"} - {section}
    assert all(not (isinstance(body[s], dict) and body[s].get("unavailable")) for s in others)
    assert body["order"] == ORDER


@pytest.mark.parametrize("answer", [ok({"detail": "boom"}, 500), ok({"detail": "no"}, 403),
                                    ServiceReply(200, b"<html>", {}), ok({"items": "x"})])
async def test_an_answer_the_view_cannot_use_is_a_section_marked_unavailable(
    gateway, services, answer,
):
    services.answers["shipping"] = answer
    body = (await view(gateway)).json()
    assert body["shipment"]["unavailable"] is True
    assert body["shipment"]["reason"].startswith("shipping: ")
    assert body["payment"] == PAYMENTS[-1]


async def test_a_dependency_that_never_answers_is_cut_off_and_marked_unavailable(services):
    async def hang():
        await asyncio.Event().wait()

    services.answers["shipping"] = hang
    storefront = Storefront(services, section_timeout=0.01)
    composed = await storefront.compose(ORDER, dict(FORWARDED))
    assert composed["shipment"]["unavailable"] is True
    assert "no answer within" in composed["shipment"]["reason"]
    assert composed["notifications"] == NOTES


async def test_the_sections_are_asked_at_the_same_time(services):
    """Each section waits until all four have been asked: asked one after another, the
    first would wait out its timeout and be marked unavailable."""
    barrier = asyncio.Barrier(4)
    for service in ("catalog", "payments", "shipping", "notifications"):
        reply = services.answers[service]

        async def together(reply=reply):
            await barrier.wait()
            return reply
        services.answers[service] = together
    composed = await Storefront(services, section_timeout=30).compose(ORDER, dict(FORWARDED))
    assert all(not (isinstance(v, dict) and v.get("unavailable")) for v in composed.values())


@pytest.mark.parametrize("status", [404, 403])
async def test_an_order_orders_will_not_show_is_the_whole_answer(gateway, services, status):
    services.answers["orders"] = ok({"title": "Not Found", "status": status}, status)
    r = await view(gateway)
    assert r.status_code == status
    assert r.json()["status"] == status
    assert services.called() == {"orders"}


@pytest.mark.parametrize(("answer", "retry_after"), [
    (Unavailable("orders", "no ready instance is registered"), "1"),
    (Unavailable("orders", "its circuit breaker is open", retry_after=4), "4"),
    (ok({"detail": "down"}, 503), "1"),
])
async def test_orders_unable_to_answer_is_a_503_with_retry_after(
    gateway, services, answer, retry_after,
):
    services.answers["orders"] = answer
    r = await view(gateway)
    assert r.status_code == 503
    assert r.headers["retry-after"] == retry_after
    assert r.headers["content-type"] == "application/problem+json"
    assert services.called() == {"orders"}


async def test_the_view_needs_a_signed_in_user_and_a_known_route(gateway, services):
    anonymous = await view(gateway, headers={})
    unknown = await view(gateway, path="/api/v1/storefront/carts/c-1")
    assert anonymous.status_code == 401
    assert unknown.status_code == 404
    assert services.calls == []
