"""The mobile home and compact order: shaped for a phone, one call per service, and a
failing service nulls its part with an error entry naming it."""

from __future__ import annotations

import pytest

from mercato.bff.mobile.graphql import Limits, MobileGraphQL
from mercato.bff.mobile.home import home
from mercato.bff.mobile.shaping import compact_order, last_order
from mercato.bff.mobile.views import MobileViews
from mercato.chassis import DependencyUnavailable, NotFound
from tests.unit.bff.fakes import ORDER, FakeUpstream


async def test_home_has_featured_products_the_cart_count_and_the_last_order_status():
    upstream = FakeUpstream()
    answer = await home(upstream, 4)
    assert answer["featured"] == [
        {"id": "p-1", "name": "Mug", "price": 1999, "currency": "USD"},
        {"id": "p-2", "name": "Tea", "price": 1999, "currency": "USD"}]
    assert answer["cart"] == {"item_count": 3}  # units, not lines
    assert answer["last_order"] == {"id": "o-1", "status": "confirmed",
                                    "created_at": "2026-12-07T03:00:00Z"}
    assert answer["errors"] == []
    assert upstream.calls == {"catalog": 1, "cart": 1, "orders": 1}
    assert ("catalog", "GET", "/api/v1/catalog/products?limit=4", None) in upstream.paths


async def test_home_with_the_cart_down_answers_the_rest_and_names_cart_in_errors():
    upstream = FakeUpstream()
    upstream.down.add("cart")
    answer = await home(upstream, 4)
    assert answer["cart"] is None
    assert answer["featured"] and answer["last_order"]["status"] == "confirmed"
    assert answer["errors"] == [{"part": "cart", "service": "cart",
                                 "message": "cart: no answer within 2 s"}]


def test_a_customer_without_orders_has_no_last_order():
    assert last_order({"items": []}) is None


def test_the_compact_order_keeps_lines_and_a_timeline_of_statuses():
    order = dict(ORDER, history=[*ORDER["history"],
                                 {"status": "cancelled", "at": "t3", "reason": "asked"}])
    compact = compact_order(order)
    assert compact["items"] == [{"product_id": "p-1", "name": "Mug", "quantity": 1},
                                {"product_id": "p-2", "name": "Tea", "quantity": 1}]
    assert compact["timeline"] == [
        {"status": "pending", "at": "2026-12-07T03:00:00Z"},
        {"status": "confirmed", "at": "2026-12-07T03:00:02Z"},
        {"status": "cancelled", "at": "t3", "reason": "asked"}]
    assert "customer_id" not in compact and "progress" not in compact


def _views(upstream: FakeUpstream) -> MobileViews:
    return MobileViews(upstream, MobileGraphQL(Limits()), 4)


async def test_an_order_orders_does_not_find_is_not_found():
    with pytest.raises(NotFound, match="o-9"):
        await _views(FakeUpstream()).order("o-9")


async def test_an_order_with_orders_down_is_a_dependency_unavailable():
    upstream = FakeUpstream()
    upstream.down.add("orders")
    with pytest.raises(DependencyUnavailable, match="orders"):
        await _views(upstream).order("o-1")
