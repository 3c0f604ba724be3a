"""OWASP API1:2023 Broken Object Level Authorization, against the running platform.

Every public route that takes an object's id (docs/api.md: an order and its detail with
`progress`, its cancellation, its storefront view with payment, shipment and messages,
its payments, its shipments, its messages, the cart's items) is asked by another
customer for the owner's object: exactly the answer for an id that does not exist (a 404,
or an empty list where the route lists the caller's things: no existence oracle), nothing
of the owner's in any answer, and nothing changed.
The admin, asked the same, sees the order: the 404 is about ownership, not a broken
route. The cart has no id in its public path (it is the caller's); its internal route,
which takes a user id, is not reachable through the gateway, nor with a user's token on
the cart service's own port.
"""

from __future__ import annotations

import pytest

from tests.security.helpers import (
    Placed,
    confirmed_order,
    customer,
    problem_shape,
    service_addresses,
    unknown_id,
)
from tests.system.platform import Platform

# (method, path, is_a_list): every public route that names an order. Orders knows every
# order: another's is the 404 of none. Payments and shipping list the caller's payments
# and shipments of an order id: another's order lists nothing, the 200 of an order id
# they never saw (no existence oracle either way).
ORDER_ROUTES = [
    ("GET", "/api/v1/orders/{id}", False),
    ("POST", "/api/v1/orders/{id}/cancel", False),
    ("GET", "/api/v1/storefront/orders/{id}", False),
    ("GET", "/api/v1/payments?order_id={id}", True),
    ("GET", "/api/v1/shipping/shipments?order_id={id}", True),
]


@pytest.fixture(scope="module")
def placed(platform: Platform) -> Placed:
    return confirmed_order(platform)


@pytest.fixture(scope="module")
def intruder(platform: Platform):
    """Another customer, who asks for the owner's objects."""
    return customer(platform)


@pytest.mark.parametrize(("method", "route", "is_a_list"), ORDER_ROUTES)
def test_another_customers_order_answers_as_none_does(platform: Platform, placed: Placed,
                                                      intruder, method, route, is_a_list):
    with platform.client(intruder.token) as c:
        theirs = c.request(method, route.format(id=placed.order["id"]))
        nothing = c.request(method, route.format(id=unknown_id()))
    if is_a_list:  # none of the caller's, as for an order id that does not exist
        assert theirs.status_code == 200 and theirs.json()["items"] == [], theirs.text
        assert nothing.status_code == 200 and nothing.json()["items"] == [], nothing.text
    else:  # no way to tell another's order from none
        assert theirs.status_code == 404, theirs.text
        assert theirs.headers["content-type"] == "application/problem+json"
        assert nothing.status_code == 404, nothing.text
        assert problem_shape(theirs) == problem_shape(nothing)
    text = theirs.text
    for secret in (placed.owner.user["id"], placed.owner.user["email"],
                   placed.order["shipping_address"]["line1"]):
        assert secret not in text


def test_the_owner_and_an_admin_see_the_order_and_nothing_was_changed(
        platform: Platform, placed: Placed):
    oid = placed.order["id"]
    intruder = customer(platform)
    with platform.client(intruder.token) as c:  # a cancellation by someone else
        assert c.post(f"/api/v1/orders/{oid}/cancel").status_code == 404
    for token in (placed.owner.token, platform.admin_token()):
        with platform.client(token) as c:
            order = c.get(f"/api/v1/orders/{oid}")
            payments = c.get("/api/v1/payments", params={"order_id": oid})
            view = c.get(f"/api/v1/storefront/orders/{oid}")
        assert order.status_code == 200 and order.json()["status"] == "confirmed", order.text
        assert [s["step"] for s in order.json()["progress"]][-1] == "confirmed"
        assert [p["status"] for p in payments.json()["items"]] == ["captured"]
        assert view.status_code == 200 and view.json()["order"]["id"] == oid


def test_another_customers_messages_about_an_order_are_not_listed(
        platform: Platform, placed: Placed):
    oid = placed.order["id"]
    with platform.client(placed.owner.token) as c:
        own = c.get("/api/v1/notifications", params={"order_id": oid}).json()["items"]
    assert own, "the owner has messages about the order"
    intruder = customer(platform)
    with platform.client(intruder.token) as c:
        theirs = c.get("/api/v1/notifications", params={"order_id": oid})
        nothing = c.get("/api/v1/notifications", params={"order_id": unknown_id()})
        everything = c.get("/api/v1/notifications")
    # The route lists the caller's own messages: about someone else's order there are
    # none, the same answer as for an order that does not exist.
    assert theirs.status_code in (200, 404), theirs.text
    assert (theirs.status_code, theirs.json().get("items")) == (
        nothing.status_code, nothing.json().get("items"))
    assert everything.status_code == 200 and oid not in everything.text
    assert oid not in theirs.text


def test_order_lists_hold_only_the_callers_orders(platform: Platform, placed: Placed):
    intruder = customer(platform)
    with platform.client(intruder.token) as c:
        listed = c.get("/api/v1/orders")
        recent = c.get("/api/v1/orders/recent")  # every customer's: admin only
    assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
    assert recent.status_code == 403, recent.text
    with platform.client(placed.owner.token) as c:
        mine = c.get("/api/v1/orders").json()["items"]
    assert [o["id"] for o in mine] == [placed.order["id"]]


def test_a_cart_is_the_callers_own_and_no_route_reaches_anothers(
        platform: Platform, placed: Placed):
    owner, intruder = customer(platform), customer(platform)
    pid = placed.product["id"]
    with platform.client(owner.token) as c:
        r = c.put(f"/api/v1/cart/items/{pid}", json={"quantity": 2})
    assert r.status_code == 200, r.text
    owner_id = owner.user["id"]
    with platform.client(intruder.token) as c:
        cart = c.get("/api/v1/cart")
        asked = c.get("/api/v1/cart", params={"user_id": owner_id, "customer_id": owner_id})
        # any path naming the owner's cart: no public route takes a user id
        tries = [c.get(f"/api/v1/cart/{owner_id}"), c.get(f"/api/v1/cart/items/{pid}"),
                 c.delete(f"/api/v1/cart/{owner_id}"),
                 c.get(f"/api/v1/internal/carts/{owner_id}")]
    for answer in (cart, asked):  # the caller's own (empty) cart, whatever it asks
        assert answer.status_code == 200 and answer.json()["items"] == [], answer.text
    assert all(t.status_code in (404, 405) for t in tries), [(t.status_code, t.text)
                                                            for t in tries]
    # the cart service's own port: its internal route is for services, never a user
    cart_service = service_addresses(platform)["cart"]
    with platform.client(intruder.token) as c:
        direct = c.get(f"{cart_service}/internal/carts/{owner_id}")
    assert direct.status_code in (401, 403), direct.text
    assert pid not in direct.text
    with platform.client(owner.token) as c:  # the owner's cart is untouched
        items = c.get("/api/v1/cart").json()["items"]
    assert [(i["product_id"], i["quantity"]) for i in items] == [(pid, 2)]


def test_the_saga_of_an_order_is_for_admins_only(platform: Platform, placed: Placed):
    with platform.client(placed.owner.token) as c:
        own = c.get(f"/api/v1/ops/sagas/{placed.order['id']}")
    assert own.status_code == 403, own.text
