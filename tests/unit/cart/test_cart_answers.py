"""What the cart's domain errors answer over HTTP (its table, cart/errors.py): the status,
kind, detail, facts and headers clients read."""

from __future__ import annotations

import pytest

from mercato.services.cart.bootstrap import build
from mercato.services.cart.domain import InvalidQuantity, Product
from mercato.services.cart.errors import ERRORS
from tests.support.service_http import client, service_app
from tests.unit.cart.conftest import EURO_BOOK, MUG, UNKNOWN


@pytest.fixture
async def api(tmp_path, carts):
    app, identity, _service_token = service_app("cart", build, tmp_path)
    app.state.carts = carts
    async with client(app) as http:
        http.alice = identity.headers("alice")
        yield http


def problem(resp) -> dict:
    body = resp.json()
    body.pop("correlation_id")
    return body


async def put(api, product_id: str, quantity: int = 1):
    return await api.put(f"/api/v1/cart/items/{product_id}", json={"quantity": quantity},
                         headers=api.alice)


async def test_a_product_not_in_the_catalog_is_404_not_found(api):
    resp = await put(api, UNKNOWN)
    assert resp.status_code == 404
    assert problem(resp) == {
        "type": "https://mercato.dev/problems/not-found", "title": "Not Found",
        "status": 404, "detail": f"product {UNKNOWN} is not in the catalog"}


async def test_another_currency_is_422_naming_the_product_and_both_currencies(api):
    await put(api, MUG)
    resp = await put(api, EURO_BOOK)
    assert resp.status_code == 422
    assert problem(resp) == {
        "product_id": EURO_BOOK, "currency": "EUR", "cart_currency": "USD",
        "type": "https://mercato.dev/problems/currency-mismatch",
        "title": "Unprocessable Entity", "status": 422,
        "detail": f"product {EURO_BOOK} is priced in EUR but this cart is in USD; "
                  "a cart holds one currency"}


async def test_a_full_cart_is_409_cart_full(api, catalog):
    for n in range(101):
        catalog.products[f"p{n}"] = Product(f"p{n}", 1, "USD")
    for n in range(100):
        await put(api, f"p{n}")
    resp = await put(api, "p100")
    assert resp.status_code == 409
    assert problem(resp)["type"].endswith("/cart-full")
    assert problem(resp)["detail"] == "a cart holds at most 100 different products"


async def test_prices_unavailable_is_503_catalog_unavailable_retry_after_one(api, catalog):
    await put(api, MUG)
    catalog.up = False
    resp = await api.get("/api/v1/cart", headers=api.alice)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert problem(resp)["type"].endswith("/catalog-unavailable")
    assert problem(resp)["detail"] == ("prices are unavailable right now: catalog is "
                                       "unavailable: no ready instance is registered")


def test_an_invalid_quantity_is_422_invalid_request_naming_the_field():
    answer = ERRORS.answer(InvalidQuantity("quantity must be between 0 and 99"))
    assert (answer.status, answer.kind, answer.detail) == (
        422, "invalid-request", "quantity: quantity must be between 0 and 99")
