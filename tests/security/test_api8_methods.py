"""OWASP API8:2023, methods per RFC 9110 through the gateway, and who reads its /metrics.

HEAD is GET without the body: the same status and headers, Content-Length included, for
public, authenticated and operations routes, pages and the gateway's probes. OPTIONS is a
204 whose ``Allow`` lists what the route takes (a service's from its OpenAPI document: both
GET and POST on /api/v1/orders), with no CORS header; a method no route takes is a 405
with ``Allow``, and so is a service's or a page's own 405, naming every method of the
path. The gateway's /metrics is served to this host (where the tests run) and refused to a
client that came through a proxy."""

from __future__ import annotations

import pytest

from tests.security.helpers import customer
from tests.system.platform import Platform

VARYING = {"date", "x-request-id", "traceparent", "set-cookie", "x-ratelimit-remaining",
           "ratelimit", "ratelimit-remaining", "ratelimit-reset", "content-security-policy"}


def headers_of(r) -> dict:
    return {k: v for k, v in r.headers.items() if k not in VARYING}


@pytest.mark.parametrize(("path", "who"), [
    ("/api/v1/catalog/categories", None), ("/.well-known/jwks.json", None),
    ("/api/v1/orders", "customer"), ("/api/v1/identity/users/me", "customer"),
    ("/api/v1/ops/services", "admin"), ("/", None), ("/health/live", None)])
def test_head_answers_gets_status_and_headers_without_the_body(platform: Platform, path,
                                                                 who):
    token = {"customer": lambda: customer(platform).token,
             "admin": platform.admin_token}.get(who, lambda: None)()
    with platform.client(token) as c:  # identity: Content-Length is then the body's size
        c.headers["Accept-Encoding"] = "identity"
        get, head = c.get(path), c.head(path)
    assert (head.status_code, head.content) == (get.status_code, b""), path
    assert get.status_code == 200, (path, get.text[:200])
    if path != "/api/v1/ops/services":  # its instances' heartbeats change between calls
        assert headers_of(head) == headers_of(get), path
    assert head.headers["content-length"] == str(len(get.content)), path


def test_head_of_an_authenticated_route_without_a_token_is_refused(platform: Platform):
    with platform.client() as c:
        assert c.head("/api/v1/orders").status_code == 401


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/catalog/categories", {"GET", "HEAD", "OPTIONS"}),
    ("/api/v1/catalog/products", {"GET", "HEAD", "POST", "OPTIONS"}),
    ("/api/v1/orders", {"GET", "HEAD", "POST", "OPTIONS"}),
    ("/api/v1/identity/token", {"POST", "OPTIONS"}),
    ("/.well-known/jwks.json", {"GET", "HEAD", "OPTIONS"}),
    ("/api/v1/ops/services", {"GET", "HEAD", "OPTIONS"})])
def test_options_lists_the_routes_methods_with_no_cors(platform: Platform, path, allow):
    with platform.client() as c:
        r = c.options(path, headers={"Origin": "https://evil.example"})
    assert r.status_code == 204, (path, r.text[:200])
    assert set(r.headers["allow"].split(", ")) == allow, path
    assert not r.content and "content-length" not in r.headers
    assert not any(k.startswith("access-control-") for k in r.headers), path


def test_options_of_no_route_is_not_found(platform: Platform):
    with platform.client() as c:
        assert c.options("/api/v1/catalog/nothing-here").status_code == 404
        assert c.options("/api/v1/nope").status_code == 404


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
def test_a_method_no_route_takes_is_a_405_with_allow(platform: Platform, method):
    with platform.client() as c:
        r = c.request(method, "/api/v1/catalog/categories")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/api/v1/orders", "GET, HEAD, POST, OPTIONS"),  # a service's own 405
    ("PUT", "/api/v1/catalog/categories", "GET, HEAD, OPTIONS"),
    ("PUT", "/cart", "GET, HEAD"),  # a page's
    ("DELETE", "/", "GET, HEAD")])
def test_a_routes_405_names_every_method_the_path_takes(platform: Platform, method, path,
                                                         allow):
    token = platform.admin_token()  # past every role check: the method is what is wrong
    with platform.client(token) as c:
        r = c.request(method, path)
    assert r.status_code == 405, (method, path, r.text[:200])
    assert r.headers["allow"] == allow, (method, path)


def test_the_gateways_metrics_are_refused_through_a_proxy_and_served_here(
        platform: Platform):
    with platform.client() as c:
        here = c.get("/metrics")
        proxied = c.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert here.status_code == 200 and "# TYPE" in here.text
    assert proxied.status_code == 403 and "# TYPE" not in proxied.text
    assert "MERCATO_GATEWAY_METRICS_FROM" in proxied.json()["detail"]
