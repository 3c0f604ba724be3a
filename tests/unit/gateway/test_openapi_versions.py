"""Both versions in the public documents: the combined one lists v1 and v2, the v1
operations with a successor ``deprecated`` and their answers' headers documented; the v2
document is the same combiner keeping v2 alone."""

from __future__ import annotations

import json

from mercato.gateway.openapi import Documents, combine
from mercato.gateway.public_api import (
    CONTRACT_PATHS,
    INFO,
    OPENAPI_V2_PATH,
    OWN,
    PublicApi,
    exposure,
)

OK = {"200": {"description": "OK"}}
ORDERS = {"openapi": "3.1.0", "components": {"schemas": {}}, "paths": {
    "/api/v1/orders": {"get": {"responses": OK}, "post": {"responses": {
        "202": {"description": "Accepted", "headers": {"Location": {"schema": {}}}}}}},
    "/api/v1/orders/{order_id}": {"get": {"responses": OK}},
    "/api/v1/orders/summary": {"get": {"responses": OK}},
    "/api/v1/orders/{order_id}/cancel": {"post": {"responses": OK}},
    "/api/v2/orders": {"get": {"responses": OK}, "post": {"responses": OK}},
    "/api/v2/orders/{order_id}": {"get": {"responses": OK}},
    "/internal/orders/{order_id}": {"get": {"responses": OK}},
}}
CATALOG = {"openapi": "3.1.0", "paths": {"/api/v1/catalog/products": {"get": {
    "responses": OK}}}}


def test_the_combined_document_lists_both_versions_and_marks_v1_with_a_successor():
    paths = combine({"orders": ORDERS, "catalog": CATALOG}, exposure, {}, INFO)["paths"]
    assert set(paths) == {"/api/v1/orders", "/api/v1/orders/{order_id}",
                          "/api/v1/orders/summary", "/api/v1/orders/{order_id}/cancel",
                          "/api/v2/orders", "/api/v2/orders/{order_id}",
                          "/api/v1/catalog/products"}
    deprecated = {(t, verb) for t, item in paths.items() for verb, op in item.items()
                  if op.get("deprecated")}
    assert deprecated == {("/api/v1/orders", "get"), ("/api/v1/orders", "post"),
                          ("/api/v1/orders/{order_id}", "get")}
    placed = paths["/api/v1/orders"]["post"]["responses"]["202"]["headers"]
    assert set(placed) == {"Location", "Deprecation", "Sunset", "Link"}  # its own kept
    assert "headers" not in paths["/api/v1/orders"]["get"]["responses"]["401"]
    assert "headers" not in paths["/api/v2/orders/{order_id}"]["get"]["responses"]["200"]


async def test_the_v2_document_is_the_same_combiner_with_a_version_filter():
    async def fetch(service: str) -> dict:
        return {"orders": ORDERS, "catalog": CATALOG}.get(service, {"paths": {}})

    api = PublicApi(Documents(fetch))
    assert OPENAPI_V2_PATH in CONTRACT_PATHS
    status, _, body = await api.answer(OPENAPI_V2_PATH)
    v2 = json.loads(body)
    assert status == 200 and v2["info"]["version"] == "v2"
    assert set(v2["paths"]) == {"/api/v2/orders", "/api/v2/orders/{order_id}"}
    assert not any(op.get("deprecated") for item in v2["paths"].values()
                   for op in item.values())
    every = json.loads(await api.body())
    assert {"/api/v1/orders", "/api/v2/orders", *OWN} <= set(every["paths"])
    assert json.loads(await api.body("v2")) == v2  # each version kept apart
