"""The catalog's HTTP routes (in process): admins create and change products, every
change is published once, and a bad request changes and publishes nothing."""

from __future__ import annotations

import pytest

from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.services.catalog.bootstrap import build
from tests.support.service_http import client, service_app
from tests.unit.catalog.conftest import MUG


@pytest.fixture
async def api(tmp_path, catalog):
    app, identity, _service_token = service_app("catalog", build, tmp_path)
    app.state.catalog = catalog  # the lifespan (NATS, migrations) is not run here
    async with client(app) as http:
        http.admin = identity.headers("boss", ("customer", "admin"))
        http.customer = identity.headers("ada")
        http.outbox = catalog.outbox
        yield http


async def test_post_then_patch_publish_created_then_the_changed_fields(api):
    created = await api.post("/api/v1/catalog/products", json=MUG, headers=api.admin)
    assert created.status_code == 201
    product_id = created.json()["id"]
    patched = await api.patch(f"/api/v1/catalog/products/{product_id}",
                              json={"name": "Big mug", "price": 1200}, headers=api.admin)
    assert (patched.status_code, patched.json()["name"]) == (200, "Big mug")
    events = [e for _, e in api.outbox.events()]
    assert [type(e) for e in events] == [ProductCreated, ProductUpdated]
    assert events[1].changes == {"name": "Big mug"}


async def test_a_customer_cannot_create_a_product_and_nothing_is_published(api):
    reply = await api.post("/api/v1/catalog/products", json=MUG, headers=api.customer)
    assert reply.status_code == 403
    assert api.outbox.events() == []


async def test_a_patch_that_sets_a_field_to_null_is_422_and_publishes_nothing(api):
    product_id = (await api.post("/api/v1/catalog/products", json=MUG,
                                 headers=api.admin)).json()["id"]
    reply = await api.patch(f"/api/v1/catalog/products/{product_id}", json={"price": None},
                            headers=api.admin)
    assert reply.status_code == 422
    assert len(api.outbox.events()) == 1


def problem(reply) -> dict:
    body = reply.json()
    body.pop("correlation_id")
    return body


async def test_the_domain_refusals_keep_their_answers(api):
    """The catalog's table (catalog/errors.py): a taken SKU is 409 ``conflict``, a broken
    product rule 422 ``unprocessable-entity``, an unknown product 404 ``not-found``."""
    await api.post("/api/v1/catalog/products", json=MUG, headers=api.admin)
    taken = await api.post("/api/v1/catalog/products", json=MUG, headers=api.admin)
    assert taken.status_code == 409
    assert problem(taken) == {"type": "https://mercato.dev/problems/conflict",
                              "title": "Conflict", "status": 409,
                              "detail": "sku 'MUG-1' already exists"}
    blank = await api.post("/api/v1/catalog/products", json={**MUG, "sku": "B", "name": " "},
                           headers=api.admin)
    assert blank.status_code == 422
    assert problem(blank) == {"type": "https://mercato.dev/problems/unprocessable-entity",
                              "title": "Unprocessable Entity", "status": 422,
                              "detail": "sku, name and category must not be blank"}
    for unknown in (await api.get("/api/v1/catalog/products/nope"),
                    await api.patch("/api/v1/catalog/products/nope", json={"price": 1},
                                    headers=api.admin)):
        assert unknown.status_code == 404
        assert problem(unknown) == {"type": "https://mercato.dev/problems/not-found",
                                    "title": "Not Found", "status": 404,
                                    "detail": "product nope was not found"}
