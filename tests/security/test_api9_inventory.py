"""OWASP API9:2023 Improper Inventory Management, against the running platform.

Only the documented API answers through the gateway: no other version (/api/v2, /api/v0,
/api/v1.1), no undocumented first segment, and none of a service's own operational
routes (`/metrics`, `/openapi.json`, `/docs`, `/redoc`, `/health/*`) under
/api/v1/<service>/..., with or without a token, an admin's included. The gateway's own
documented routes (its /health/*, /.well-known/jwks.json, the public catalog, and the
published contract: /api/v1/openapi.json and /api/v1/docs, tests/contract/) answer.
"""

from __future__ import annotations

import pytest

from mercato.gateway.policy import ROUTED_SERVICES
from tests.system.platform import Platform

OPERATIONAL = ["metrics", "openapi.json", "docs", "redoc", "docs/oauth2-redirect",
               "health/live", "health/ready", "health/startup"]


@pytest.mark.parametrize("path", [
    "/api/v2/catalog/products", "/api/v0/catalog/products", "/api/v1.1/catalog/products",
    "/api/V1/catalog/products", "/api/catalog/products", "/api/v1/admin",
    "/api/v1/debug", "/api/v1/internal", "/api/v1/users", "/api/v1/redoc",
    "/api/v1/swagger.json", "/api/v1/metrics", "/api/v1/health/live", "/api/v1/graphql",
    "/api/v1/Catalog/products", "/api/v1/catalog-old/products",
])
def test_an_undocumented_version_or_prefix_is_not_found(platform: Platform, path):
    with platform.client(platform.admin_token()) as c:
        r = c.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("service", ROUTED_SERVICES)
def test_a_services_operational_routes_are_not_reachable_through_the_gateway(
        platform: Platform, service):
    for token in (None, platform.admin_token()):
        with platform.client(token) as c:
            for route in OPERATIONAL:
                r = c.get(f"/api/v1/{service}/{route}")
                assert r.status_code in (401, 404, 405), (service, route, r.status_code)
                if token is None:
                    continue  # a user route asks for a token first
                assert r.status_code in (404, 405), (service, route, r.text[:200])
                assert "# TYPE" not in r.text and '"openapi"' not in r.text
                assert "swagger" not in r.text.lower()


def test_the_gateways_own_documented_routes_answer(platform: Platform):
    with platform.client() as c:
        for path in ("/health/live", "/health/ready", "/health/startup"):
            assert c.get(path).status_code == 200, path
        jwks = c.get("/.well-known/jwks.json")
        products = c.get("/api/v1/catalog/products", params={"limit": 1})
        categories = c.get("/api/v1/catalog/categories")
        contract = c.get("/api/v1/openapi.json")
        assert c.get("/.well-known/openid-configuration").status_code == 404
    assert jwks.status_code == 200 and jwks.json()["keys"]
    assert products.status_code == 200 and "items" in products.json()
    assert categories.status_code == 200
    assert contract.status_code == 200 and "/api/v1/catalog/products" in contract.json()["paths"]


def test_the_gateways_scrape_does_not_show_internal_addresses(platform: Platform):
    """`GET /metrics` of the gateway (docs/api.md: every process answers it): whatever it
    shows, never an instance's address or port."""
    with platform.client() as c:
        r = c.get("/metrics")
    assert r.status_code in (200, 401, 403, 404)
    assert "127.0.0.1:" not in r.text
