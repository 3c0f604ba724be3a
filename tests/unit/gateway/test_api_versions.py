"""Versions in the gateway's route table: v2 of orders is routed next to v1, and the v1
routes with a v2 successor answer with Deprecation (RFC 9745), Sunset (RFC 8594) and a
Link to the successor, from the settings' dates; other routes carry none of them."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from mercato.gateway.bootstrap import EdgeSettings, build
from mercato.gateway.exchange import route_label
from mercato.gateway.policy import Access, resolve
from mercato.gateway.versions import Deprecation
from tests.support.service_http import client
from tests.unit.gateway.test_gateway import gateway  # noqa: F401 - a fixture

CUSTOMER = {"Authorization": "Bearer customer"}


@pytest.mark.parametrize(("method", "path", "version", "successor"), [
    ("GET", "/api/v1/orders", "v1", "/api/v2/orders"),
    ("HEAD", "/api/v1/orders", "v1", "/api/v2/orders"),
    ("POST", "/api/v1/orders", "v1", "/api/v2/orders"),
    ("GET", "/api/v1/orders/o-1", "v1", "/api/v2/orders/o-1"),
    ("GET", "/api/v1/orders/summary", "v1", None),
    ("GET", "/api/v1/orders/recent", "v1", None),
    ("GET", "/api/v1/orders/summaryx", "v1", "/api/v2/orders/summaryx"),
    ("POST", "/api/v1/orders/o-1/cancel", "v1", None),
    ("POST", "/api/v1/orders/o-1", "v1", None),
    ("GET", "/api/v1/catalog/products", "v1", None),
    ("GET", "/api/v2/orders", "v2", None),
    ("POST", "/api/v2/orders", "v2", None),
    ("GET", "/api/v2/orders/o-1", "v2", None),
])
def test_a_route_has_a_version_and_a_deprecated_one_its_successor(method, path, version,
                                                                  successor):
    route = resolve(method, path)
    assert (route.version, route.successor) == (version, successor)


def test_v2_routes_orders_with_v1s_access_and_nothing_else():
    assert (resolve("GET", "/api/v2/orders/o-1").service,
            resolve("GET", "/api/v2/orders/o-1").access) == ("orders", Access.USER)
    for path in ("/api/v2/catalog/products", "/api/v2/ops/services", "/api/v2/", "/api/v2"):
        assert resolve("GET", path) is None


def test_the_headers_say_since_when_until_when_and_where_the_successor_is():
    headers = dict(Deprecation(date(2026, 12, 7), date(2027, 6, 30)).headers(
        "/api/v2/orders/o-1"))
    assert headers == {b"deprecation": b"@1796601600",  # 2026-12-07T00:00:00Z
                       b"sunset": b"Wed, 30 Jun 2027 00:00:00 GMT",
                       b"link": b'</api/v2/orders/o-1>; rel="successor-version"'}


def test_a_successor_path_cannot_end_the_link_or_the_header():
    link = dict(Deprecation().headers('/api/v2/orders/a>; rel="x"\r\nSet-Cookie: y'))[b"link"]
    assert link == (b'</api/v2/orders/a%3E%3B%20rel%3D%22x%22%0D%0ASet-Cookie%3A%20y>;'
                    b' rel="successor-version"')


def test_a_sunset_before_the_deprecation_is_refused(monkeypatch):
    with pytest.raises(ValueError, match=r"the sunset \(2026-12-31\) must come after"):
        Deprecation(date(2027, 1, 1), date(2026, 12, 31))
    monkeypatch.setenv("MERCATO_API_V1_SUNSET", "2026-01-01")
    with pytest.raises(ValidationError, match="the sunset"):
        EdgeSettings()
    monkeypatch.setenv("MERCATO_API_V1_SUNSET", "someday")
    with pytest.raises(ValidationError, match="api_v1_sunset"):
        EdgeSettings()


def test_the_dates_come_from_the_settings(monkeypatch, gateway):  # noqa: F811 - a fixture
    monkeypatch.setenv("MERCATO_API_V1_DEPRECATED", "2027-01-01")
    monkeypatch.setenv("MERCATO_API_V1_SUNSET", "2027-12-31")
    built = build(gateway.runtime)
    assert built.deprecation == Deprecation(date(2027, 1, 1), date(2027, 12, 31))


async def test_a_v1_order_answer_carries_the_deprecation_and_a_v2_one_none(
        gateway):  # noqa: F811 - a fixture
    async with client(gateway) as c:
        v1 = await c.get("/api/v1/orders/o-1", headers=CUSTOMER)
        v1_list = await c.head("/api/v1/orders", headers=CUSTOMER)
        v2 = await c.get("/api/v2/orders/o-1", headers=CUSTOMER)
        other = await c.post("/api/v1/orders/o-1/cancel", headers=CUSTOMER)
    assert v1.status_code == v2.status_code == 200
    assert v1.headers["deprecation"] == "@1796601600"  # the default: 2026-12-07
    assert v1.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert v1.headers["link"] == '</api/v2/orders/o-1>; rel="successor-version"'
    assert v1_list.headers["link"] == '</api/v2/orders>; rel="successor-version"'
    for answer in (v2, other):
        assert not {"deprecation", "sunset", "link"} & set(answer.headers)
    async with client(gateway) as c:
        refused = await c.get("/api/v1/orders/o-1")  # no token: the gateway's own 401
    assert refused.status_code == 401
    assert refused.headers["link"] == '</api/v2/orders/o-1>; rel="successor-version"'
    assert refused.headers["deprecation"] == v1.headers["deprecation"]
    forwarded = [(service, path) for service, _, path, _ in gateway.upstreams.calls]
    assert forwarded == [("orders", "/api/v1/orders/o-1"), ("orders", "/api/v1/orders"),
                         ("orders", "/api/v2/orders/o-1"), ("orders", "/api/v1/orders/o-1/cancel")]


def test_a_v2_request_is_measured_under_its_own_version():
    assert route_label("orders", "/api/v2/orders/o-1") == "/api/v2/orders/*"
    assert route_label("orders", "/api/v1/orders/o-1") == "/api/v1/orders/*"
