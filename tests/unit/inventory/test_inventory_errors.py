"""Inventory's table of domain errors (errors.py): each refusal answers the problem it
answered when handlers raised problems themselves: status, kind, detail, the facts as
extra members in the same order, Retry-After; a bug is not in the table."""

from __future__ import annotations

import pytest

from mercato.chassis.errors import DependencyUnavailable, NotFound
from mercato.services.inventory.bootstrap import build
from mercato.services.inventory.domain import (
    AlreadyCancelled,
    InvalidRequest,
    OutOfStock,
    RequestMismatch,
    ReservationConflict,
    StockInvariantBroken,
    WouldGoNegative,
)
from mercato.services.inventory.errors import ERRORS
from tests.support.service_http import bearer, client, service_app
from tests.unit.inventory.conftest import KNOWN, OTHER, UNKNOWN

BASE = "https://mercato.dev/problems/"


@pytest.mark.parametrize("error, status, kind, facts", [
    (InvalidRequest("delta must not be zero"), 422, "invalid-request", {}),
    (RequestMismatch("reused"), 422, "idempotency-mismatch", {}),
    (WouldGoNegative(KNOWN, -4, 3), 409, "insufficient-stock",
     {"product_id": KNOWN, "delta": -4, "available": 3}),
    (OutOfStock("not enough stock", [KNOWN, OTHER]), 409, "out-of-stock",
     {"product_ids": [KNOWN, OTHER]}),
    (AlreadyCancelled("released"), 409, "already-cancelled", {}),
    *[(ReservationConflict("no", kind), 409, kind, {}) for kind in (
        "reservation-expired", "not-reserved", "already-committed", "already-cancelled",
        "already-released", "not-committed")],
    (NotFound("reservation r1 was not found"), 404, "not-found", {}),
])
def test_each_refusal_answers_its_status_kind_and_facts(error, status, kind, facts):
    said = ERRORS.answer(error)
    assert said is not None
    assert (said.status, said.kind, said.detail, dict(said.facts), said.retry_after) == (
        status, kind, str(error), facts, None)


def test_the_catalog_being_down_is_503_catalog_unavailable_retry_after_one():
    said = ERRORS.answer(DependencyUnavailable("cannot check product p: down",
                                               kind="catalog-unavailable", retry_after=1))
    assert said is not None
    assert (said.status, said.kind, said.retry_after, dict(said.facts)) == (
        503, "catalog-unavailable", 1, {})


def test_a_broken_invariant_is_a_bug_not_a_refusal():
    assert ERRORS.answer(StockInvariantBroken("stock of p does not add up")) is None


@pytest.fixture
async def api(tmp_path, inventory):
    app, identity, service_token = service_app("inventory", build, tmp_path)
    app.state.inventory = inventory
    async with client(app) as http:
        http.admin = identity.headers("admin-1", ("customer", "admin"))
        http.service = bearer(service_token)
        yield http


def problem(resp) -> dict:
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body.pop("correlation_id")
    return body


async def test_the_answers_over_http_are_the_published_problems(api, catalog, clock):
    adjust = f"/api/v1/inventory/stock/{KNOWN}/adjustments"
    catalog.up = False
    down = await api.post(adjust, json={"delta": 5, "reason": "x"}, headers=api.admin)
    assert (down.status_code, down.headers["retry-after"]) == (503, "1")
    assert problem(down) == {
        "type": BASE + "catalog-unavailable", "title": "Service Unavailable", "status": 503,
        "detail": f"cannot check product {KNOWN}: catalog is unavailable: no ready instance"
                  " is registered"}
    catalog.up = True
    await api.post(adjust, json={"delta": 2, "reason": "x"}, headers=api.admin)
    short = await api.post(adjust, json={"delta": -3, "reason": "x"}, headers=api.admin)
    assert "retry-after" not in short.headers
    assert list(short.json())[:3] == ["product_id", "delta", "available"]
    assert problem(short) == {
        "product_id": KNOWN, "delta": -3, "available": 2,
        "type": BASE + "insufficient-stock", "title": "Conflict", "status": 409,
        "detail": f"adjusting product {KNOWN} by -3 would leave -1 available (now 2);"
                  " stock never goes below what is reserved or sold"}
    missing = await api.post("/internal/reservations/nope/commit", headers=api.service)
    assert problem(missing) == {"type": BASE + "not-found", "title": "Not Found",
                                "status": 404, "detail": "reservation nope was not found"}
    body = {"reservation_id": "r1", "order_id": "o1",
            "items": [{"product_id": KNOWN, "quantity": 1}]}
    assert (await api.post("/internal/reservations", json=body,
                           headers=api.service)).status_code == 201
    clock.advance(900)
    late = await api.post("/internal/reservations/r1/commit", headers=api.service)
    assert problem(late)["type"] == BASE + "reservation-expired"
    assert late.status_code == 409
    unknown = await api.post(f"/api/v1/inventory/stock/{UNKNOWN}/adjustments",
                             json={"delta": 1, "reason": "x"}, headers=api.admin)
    assert problem(unknown) == {"type": BASE + "not-found", "title": "Not Found",
                                "status": 404,
                                "detail": f"product {UNKNOWN} is not in the catalog"}
