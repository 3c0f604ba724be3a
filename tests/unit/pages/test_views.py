"""What the storefront shows, decided without a page: availability words, the order
timeline, money, the gateway's page routes and in-process calls."""

from __future__ import annotations

import json

from mercato.gateway.inprocess import InProcessApi
from mercato.gateway.web import is_page_path, page_route
from mercato.pages import money
from mercato.storefront.browse import availability
from mercato.storefront.timeline import cancellation, steps


def test_availability_in_words():
    assert availability({"available": 40})[0] == "In stock"
    assert availability({"available": 5})[0] == "Only 5 left"
    assert availability({"available": 1})[0] == "Only 1 left"
    assert availability({"available": 0})[0] == "Out of stock"
    assert availability(None)[0] == "Availability unknown"


def test_money_in_minor_units():
    assert money(1999, "USD") == "$19.99"
    assert money(123456, "EUR") == "€1,234.56"
    assert money(5, "CHF") == "0.05 CHF"
    assert money(None) == "—"


def test_timeline_marks_every_step_up_to_the_furthest_reached():
    order = {"status": "confirmed", "history": [
        {"status": "pending", "at": "2026-12-05T10:00:00Z"},
        {"status": "confirmed", "at": "2026-12-05T10:00:02Z"}],
        "progress": [{"step": "paid", "at": "2026-12-05T10:00:01Z"}]}
    drawn = {s.key: s for s in steps(order)}
    assert [k for k, s in drawn.items() if s.done] == [
        "placed", "reserved", "paid", "shipment_scheduled", "confirmed"]
    assert drawn["paid"].at == "2026-12-05T10:00:01Z"
    assert drawn["reserved"].at is None  # passed, but orders has no time for it
    assert not drawn["shipped"].done


def test_a_cancellation_says_why_in_words():
    order = {"status": "cancelled", "reason": "payment_declined", "history": [
        {"status": "pending", "at": "t0"}, {"status": "cancelled", "at": "t1"}]}
    assert cancellation(order) == {"reason": "Payment declined", "at": "t1"}
    assert cancellation({"status": "cancelled", "reason": "out_of_stock"})["reason"] == (
        "Out of stock")
    assert cancellation({"status": "confirmed"}) is None


def test_pages_are_every_path_but_the_api_probes_and_metrics():
    assert is_page_path("/") and is_page_path("/products/x") and is_page_path("/console")
    for api in ("/api/v1/catalog/products", "/.well-known/jwks.json", "/health/ready",
                "/metrics"):
        assert not is_page_path(api)


def test_page_routes_never_carry_ids():
    assert page_route("/products/92a4fc1b", 200) == "/products/*"
    assert page_route("/", 200) == "/"
    assert page_route("/console/orders/abc", 200) == "/console/orders/*"
    assert page_route("/anything/random", 404) == "unmatched"


async def test_an_in_process_call_is_one_asgi_request_of_the_gateway():
    seen = {}

    async def handle(scope, receive, send):
        seen.update(scope=scope, body=(await receive())["body"])
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"Content-Type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"id": "u1"}'})

    reply = await InProcessApi(handle).request(
        "POST", "/api/v1/identity/users?x=1", token="t0k", json={"email": "a@b.c"},
        headers={"Idempotency-Key": "k1"}, client=("198.51.100.7", 4000))
    assert reply.status == 201 and reply.json() == {"id": "u1"}
    assert reply.headers["content-type"] == "application/json"
    scope = seen["scope"]
    assert (scope["method"], scope["path"], scope["query_string"]) == (
        "POST", "/api/v1/identity/users", b"x=1")
    headers = dict(scope["headers"])
    assert headers[b"authorization"] == b"Bearer t0k"
    assert headers[b"idempotency-key"] == b"k1"
    assert scope["client"] == ("198.51.100.7", 4000)
    assert json.loads(seen["body"]) == {"email": "a@b.c"}
