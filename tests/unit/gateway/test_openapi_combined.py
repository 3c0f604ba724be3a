"""gateway/openapi.py: the public document combined from the services' documents — only
what the gateway exposes, components merged without clashes, kept and refreshed."""

from __future__ import annotations

from mercato.gateway.openapi import Documents, combine, combined
from mercato.gateway.public_api import OWN, exposure

PROBLEM = {"type": "object", "required": ["type"]}


def doc(paths: dict, schemas: dict) -> dict:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}}


def op(ref: str | None = None) -> dict:
    body = {"requestBody": {"content": {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{ref}"}}}}} if ref else {}
    return {**body, "responses": {"200": {"description": "OK"}, "404": {
        "content": {"application/problem+json": {"schema": {
            "$ref": "#/components/schemas/Problem"}}}}}}


ORDERS = doc({"/api/v1/orders": {"post": op("Place")},
              "/internal/facts": {"get": op()},
              "/health/live": {"get": op()}},
             {"Place": {"type": "object", "properties": {"items": {"type": "array", "items": {
                 "$ref": "#/components/schemas/Item"}}}},
              "Item": {"type": "object", "properties": {"quantity": {"type": "integer"}}},
              "Problem": PROBLEM, "Unused": {"type": "string"}})
INVENTORY = doc({"/api/v1/inventory/stock/{product_id}": {"get": op()},
                 "/internal/reservations": {"post": op("Item")}},
                {"Item": {"type": "object", "properties": {"sku": {"type": "string"}}},
                 "Problem": PROBLEM})


def test_only_the_routes_the_gateway_forwards_are_published_with_its_answers():
    found = combine({"orders": ORDERS, "inventory": INVENTORY}, exposure, {}, {"title": "t"})
    assert set(found["paths"]) == {"/api/v1/orders", "/api/v1/inventory/stock/{product_id}"}
    place = found["paths"]["/api/v1/orders"]["post"]
    stock = found["paths"]["/api/v1/inventory/stock/{product_id}"]["get"]
    assert place["security"] == [{"bearer": []}] and stock["security"] == []
    assert {"401", "408", "429", "503"} <= set(place["responses"])
    assert "401" not in stock["responses"] and "404" in stock["responses"]
    assert found["openapi"] == "3.1.0"


CART = doc({"/api/v1/cart": {"put": op("Item")}},
           {"Item": {"type": "object", "properties": {"sku": {"type": "string"}}}})


def test_components_that_differ_are_renamed_and_the_same_ones_shared():
    found = combine({"orders": ORDERS, "inventory": INVENTORY, "cart": CART}, exposure, {},
                    {})
    schemas = found["components"]["schemas"]
    assert schemas["Problem"] == PROBLEM  # the same everywhere: kept once, by name
    assert "orders_Place" in schemas and "Unused" not in schemas  # Place refers to Item
    assert "inventory_Item" not in schemas  # only an internal route used it
    place = found["paths"]["/api/v1/orders"]["post"]["requestBody"]
    assert place["content"]["application/json"]["schema"]["$ref"].endswith("/orders_Place")
    items = schemas["orders_Place"]["properties"]["items"]["items"]["$ref"]
    assert items.endswith("/Item") and "quantity" in schemas["Item"]["properties"]
    cart = found["paths"]["/api/v1/cart"]["put"]["requestBody"]
    assert cart["content"]["application/json"]["schema"]["$ref"].endswith("/cart_Item")
    assert "sku" in schemas["cart_Item"]["properties"]  # the same name, another schema


def test_the_gateways_own_routes_are_added_as_given():
    found = combine({}, exposure, OWN, {})
    assert found["paths"]["/api/v1/ops/services"]["get"]["security"] == [{"bearer": []}]
    assert "403" in found["paths"]["/api/v1/ops/services"]["get"]["responses"]


async def test_a_service_that_cannot_answer_keeps_its_last_document_or_is_named_missing():
    now, calls, down = [0.0], [], set()

    async def fetch(service: str) -> dict:
        calls.append(service)
        if service in down:
            raise ConnectionError(service)
        return {"orders": ORDERS, "inventory": INVENTORY}[service]

    documents = Documents(fetch, ttl=60, clock=lambda: now[0])
    first = await combined(documents, ["orders", "inventory"], exposure, {}, {})
    await combined(documents, ["orders", "inventory"], exposure, {}, {})
    assert calls == ["orders", "inventory"]  # kept for the ttl
    now[0], down = 61.0, {"inventory"}
    stale = await combined(documents, ["orders", "inventory"], exposure, {}, {})
    assert stale["paths"] == first["paths"] and "x-mercato-missing" not in stale
    fresh = Documents(fetch)
    missing = await combined(fresh, ["orders", "inventory"], exposure, {}, {})
    assert missing["x-mercato-missing"] == ["inventory"]
    assert "/api/v1/orders" in missing["paths"]
