"""A service's one table of domain errors (chassis/errors.py): the answer each error gets,
found along its class's MRO, and the problem an HTTP route answers for it."""

from __future__ import annotations

from fastapi import APIRouter

from mercato.chassis import (
    DependencyTimedOut,
    DependencyUnavailable,
    DomainError,
    ErrorTable,
    NotFound,
    Refusal,
    create_service,
)
from mercato.chassis.errors import grpc_code, http_status
from tests.support.service_http import WORKLOAD_KEYS, bearer, client, service_runtime


class StockError(DomainError):
    pass


class OutOfStock(StockError):
    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"out of stock: {', '.join(product_ids)}")
        self.product_ids = product_ids


class Expired(StockError):
    kind = "reservation-expired"


TABLE = ErrorTable({
    OutOfStock: Refusal(409, "out-of-stock", facts=lambda e: {"product_ids": e.product_ids}),
    StockError: Refusal(409),
})


def test_an_error_is_answered_by_its_own_entry_with_its_facts():
    answer = TABLE.answer(OutOfStock(["p1", "p2"]))
    assert answer is not None
    assert (answer.status, answer.kind, answer.detail, answer.facts) == (
        409, "out-of-stock", "out of stock: p1, p2", {"product_ids": ["p1", "p2"]})


def test_a_family_is_answered_by_its_base_with_the_errors_own_kind_and_facts():
    answer = TABLE.answer(Expired("held past its deadline", reservation_id="r1"))
    assert answer is not None
    assert (answer.status, answer.kind, answer.facts) == (
        409, "reservation-expired", {"reservation_id": "r1"})


def test_the_shared_errors_answer_themselves_and_unknown_ones_are_not_answered():
    assert TABLE.answer(NotFound("payment p1 was not found")).status == 404
    down = TABLE.answer(DependencyUnavailable("the provider is down", kind="provider-down",
                                              retry_after=3))
    assert (down.status, down.kind, down.retry_after) == (503, "provider-down", 3)
    assert TABLE.answer(DependencyTimedOut("no answer in 2s")).status == 504
    assert TABLE.answer(ValueError("a bug")) is None


def test_grpc_codes_follow_the_http_status():
    assert [grpc_code(s) for s in (404, 409, 422, 503, 504, 418)] == [
        "NOT_FOUND", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "UNAVAILABLE",
        "DEADLINE_EXCEEDED", "UNKNOWN"]
    # and back, for a refusal that came without Mercato's trailers
    assert [http_status(c) for c in ("NOT_FOUND", "UNAVAILABLE", "DEADLINE_EXCEEDED",
                                     "DATA_LOSS")] == [404, 503, 504, 500]


def app_raising(tmp_path, error: Exception):
    router = APIRouter()

    @router.post("/work")
    async def work() -> dict:
        raise error

    return create_service(service_runtime("inventory", tmp_path), routers=[router],
                          migrations_dir=None, errors=TABLE)


async def _post(tmp_path, error: Exception):
    as_orders = bearer(WORKLOAD_KEYS.identity("orders").token("inventory"))
    async with client(app_raising(tmp_path, error), headers=as_orders) as c:
        return await c.post("/work")


async def test_a_route_answers_a_domain_error_as_the_problem_its_table_names(tmp_path):
    r = await _post(tmp_path, OutOfStock(["p1"]))
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/out-of-stock") and body["product_ids"] == ["p1"]
    assert body["detail"] == "out of stock: p1"


async def test_an_unavailable_dependency_is_a_503_saying_when_to_try_again(tmp_path):
    r = await _post(tmp_path, DependencyUnavailable("catalog did not answer",
                                                    kind="catalog-unavailable", retry_after=1))
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["type"].endswith("/catalog-unavailable")


async def test_a_missing_thing_is_a_404(tmp_path):
    r = await _post(tmp_path, NotFound("reservation r9 was not found"))
    assert r.status_code == 404 and r.json()["detail"] == "reservation r9 was not found"
