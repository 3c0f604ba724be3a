"""What the OWASP API Top 10 modules share: a confirmed order of one customer, the
services' own addresses, and a walk over JSON bodies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from tests.system.platform import Platform


@dataclass(frozen=True)
class Customer:
    token: str
    user: dict


@dataclass(frozen=True)
class Placed:
    """A customer, a product and the customer's confirmed order of it."""

    owner: Customer
    product: dict
    order: dict


def customer(platform: Platform) -> Customer:
    token, user = platform.new_customer()
    return Customer(token, user)


def confirmed_order(platform: Platform, quantity: int = 1, price: int = 1000) -> Placed:
    owner = customer(platform)
    product = platform.new_product(stock=5, price=price)
    with platform.client(owner.token) as c:
        r = c.post("/api/v1/orders", json=platform.order_body(product["id"], quantity))
    assert r.status_code == 202, r.text
    order = platform.wait_terminal(owner.token, r.json()["id"])
    assert order["status"] == "confirmed", order
    return Placed(owner, product, order)


def service_addresses(platform: Platform) -> dict[str, str]:
    """Each service's own address (one instance each), from GET /api/v1/ops/services."""
    with platform.client(platform.admin_token()) as c:
        r = c.get("/api/v1/ops/services")
    assert r.status_code == 200, r.text
    return {i["service"]: i["address"] for i in r.json()["items"]}


def unknown_id() -> str:
    return str(uuid.uuid4())


def keys_in(value: object, path: str = "$") -> Iterator[tuple[str, str, object]]:
    """Every (path, key, value) of the objects nested in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k, v
            yield from keys_in(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from keys_in(v, f"{path}[{i}]")


def problem_shape(r: httpx.Response) -> dict:
    """A problem's fields but the ones naming this request (to compare two refusals)."""
    body = r.json()
    return {k: v for k, v in body.items() if k not in ("correlation_id", "detail")}
