"""The orders handlers' refusals as a client sees them, through the app and its one table
(errors.py): each answers the status, problem kind, detail, extra members and Retry-After
it always has."""

from __future__ import annotations

from http import HTTPStatus

from mercato.chassis.calls import Unavailable
from mercato.services.orders.domain.limits import UnitsLimit
from tests.unit.orders.conftest import ALICE, body
from tests.unit.orders.test_orders_api import api  # noqa: F401 - a fixture

TYPE = "https://mercato.dev/problems/"
UNPROCESSABLE = HTTPStatus(422).phrase  # its kind: the status's own


def problem(reply) -> dict:
    assert reply.headers["content-type"].startswith("application/problem+json")
    found = reply.json()
    found.pop("correlation_id")
    return found


async def test_an_order_that_cannot_be_placed_as_asked_is_a_422(api, shop):  # noqa: F811
    unknown = await api.post("/api/v1/orders", headers=api.alice,
                             json=body(("p1", 1), ("nope", 1)))
    assert unknown.status_code == 422
    assert problem(unknown) == {
        "type": TYPE + "unknown-product", "title": UNPROCESSABLE, "status": 422,
        "detail": "items[1].product_id: unknown product nope",
        "field": "items[1].product_id"}
    mixed = await api.post("/api/v1/orders", headers=api.alice,
                           json=body(("p1", 1), ("eur", 1)))
    assert (mixed.status_code, problem(mixed)["type"]) == (
        422, TYPE + UNPROCESSABLE.lower().replace(" ", "-"))
    assert problem(mixed)["detail"] == ("items: products in several currencies (EUR, USD) "
                                        "cannot share one order")
    await api.post("/api/v1/orders", headers={**api.alice, "Idempotency-Key": "k"},
                   json=body(("p1", 1)))
    reused = await api.post("/api/v1/orders", headers={**api.alice, "Idempotency-Key": "k"},
                            json=body(("p1", 2)))
    assert (reused.status_code, problem(reused)["type"]) == (
        422, TYPE + "idempotency-key-reused")
    assert problem(reused)["detail"] == (
        "Idempotency-Key was already used with a different request body")


async def test_the_units_limit_is_a_409_naming_what_fits_without_retry_after(
        api, shop):  # noqa: F811
    shop.orders.units_limit = UnitsLimit(5)
    await shop.order(ALICE, ("p1", 4))
    refused = await api.post("/api/v1/orders", headers=api.alice, json=body(("p1", 3)))
    assert refused.status_code == 409 and "retry-after" not in refused.headers
    found = problem(refused)
    assert (found["type"], found["title"]) == (TYPE + "units-limit", "Units limit reached")
    assert {k: found[k] for k in ("product_id", "limit", "held", "requested", "available",
                                  "frees_at")} == {
        "product_id": "p1", "limit": 5, "held": 4, "requested": 3, "available": 1,
        "frees_at": "2026-03-02T09:00:00Z"}


async def test_load_shedding_and_a_silent_catalog_say_when_to_try_again(
        api, shop):  # noqa: F811
    shop.orders.max_in_flight = 1
    shop.hold()
    await shop.order(ALICE, ("p1", 1), settle=False)
    busy = await api.post("/api/v1/orders", headers=api.alice, json=body(("p2", 1)))
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
    assert problem(busy)["type"] == TYPE + "checkout-busy"
    shop.orders.max_in_flight, shop.orders.max_in_flight_per_customer = 0, 1
    mine = await api.post("/api/v1/orders", headers=api.alice, json=body(("p2", 1)))
    assert (mine.status_code, mine.headers["retry-after"]) == (429, "1")
    assert problem(mine)["type"] == TYPE + "too-many-checkouts"
    shop.orders.max_in_flight_per_customer = 0

    async def silent(_ids):
        raise Unavailable("catalog", "lookup answered 500")
    shop.orders.catalog.lookup = silent
    unpriced = await api.post("/api/v1/orders", headers=api.alice, json=body(("p2", 1)))
    assert (unpriced.status_code, unpriced.headers["retry-after"]) == (503, "1")
    found = problem(unpriced)
    assert found["type"] == TYPE + "service-unavailable"
    assert found["detail"].startswith("cannot price the order: ")


async def test_cancelling_twice_and_unknown_orders_and_sagas(api, shop):  # noqa: F811
    order_id = await shop.order(ALICE, ("p1", 1))
    await shop.cancel(ALICE, order_id)
    again = await api.post(f"/api/v1/orders/{order_id}/cancel", headers=api.alice)
    assert (again.status_code, problem(again)) == (409, {
        "type": TYPE + "already-cancelled", "title": "Conflict", "status": 409,
        "detail": f"order {order_id} is already cancelled"})
    hidden = await api.post(f"/api/v1/orders/{order_id}/cancel", headers=api.bob)
    assert (hidden.status_code, problem(hidden)) == (404, {
        "type": TYPE + "not-found", "title": "Not Found", "status": 404,
        "detail": f"order {order_id} was not found"})
    saga = await api.get("/internal/sagas/nope")  # the gateway's token
    assert (saga.status_code, problem(saga)) == (404, {
        "type": TYPE + "not-found", "title": "Not Found", "status": 404,
        "detail": "the saga of order nope was not found"})
