"""The published contract at the gateway: one OpenAPI 3.1 document of the public API and a
page that shows it, both public and answered by the gateway itself."""

from __future__ import annotations

import re

import pytest

from mercato.gateway.policy import resolve
from tests.system.platform import Platform

pytestmark = pytest.mark.system


def test_the_document_lists_only_what_the_gateway_forwards(contract_platform: Platform):
    with contract_platform.client() as c:
        r = c.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    document = r.json()
    assert document["openapi"].startswith("3.1") and "x-mercato-missing" not in document
    paths = document["paths"]
    assert {"/api/v1/orders", "/api/v1/catalog/products/{product_id}",
            "/api/v1/ops/services", "/.well-known/jwks.json"} <= set(paths)
    for path, item in paths.items():
        assert not path.startswith(("/internal", "/health", "/metrics")), path
        for verb in item:
            assert resolve(verb.upper(), re.sub(r"\{[^}]+\}", "x", path)) is not None
    assert paths["/api/v1/catalog/products"]["get"]["security"] == []
    assert paths["/api/v1/orders"]["post"]["security"] == [{"bearer": []}]
    assert "403" in paths["/api/v1/catalog/products"]["post"]["responses"]


def test_the_docs_page_needs_nothing_from_elsewhere(contract_platform: Platform):
    with contract_platform.client() as c:
        page = c.get("/api/v1/docs")
        options = c.options("/api/v1/openapi.json")
        post = c.post("/api/v1/openapi.json")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'fetch("openapi.json")' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert "script-src 'sha256-" in page.headers["content-security-policy"]
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS"
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD, OPTIONS"
