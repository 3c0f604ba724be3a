"""The gateway sends /api/mobile/ to the mobile BFF's process, for signed-in users."""

from __future__ import annotations

from mercato.gateway.exchange import route_label
from mercato.gateway.policy import Access, Route, resolve


def test_mobile_paths_go_to_the_mobile_bff_for_users():
    for method, path in (("GET", "/api/mobile/v1/home"), ("GET", "/api/mobile/v1/orders/o1"),
                         ("POST", "/api/mobile/graphql")):
        assert resolve(method, path) == Route("mobile-bff", Access.USER)


def test_other_paths_are_not_taken_for_mobile_ones():
    assert resolve("GET", "/api/mobiles/v1/home") is None
    assert resolve("GET", "/api/v1/mobile-bff/anything") is None


def test_the_metric_route_of_a_mobile_request_hides_its_ids():
    assert route_label("mobile-bff", "/api/mobile/v1/orders/o1") == "/api/mobile/*"
