"""The catalog publishes ProductCreated and ProductUpdated through its outbox, in the
transaction that stores the product."""

from __future__ import annotations

import pytest

from mercato.chassis.errors import NotFound
from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.services.catalog.domain import CatalogError, DuplicateSku
from mercato.services.catalog.handlers import created_event_id
from tests.support.memory.outbox import ExplodingMemoryOutbox
from tests.support.outbox import EVERY_EVENT
from tests.unit.catalog.conftest import MUG, make_catalog


async def stored(catalog) -> list[str]:
    """The ids of every product stored, by name."""
    found, _ = await catalog.products.search(text=None, category=None, limit=100, cursor=None)
    return [p.id for p in found]


async def test_creating_a_product_stores_it_and_its_product_created_event_together(catalog):
    product = await catalog.create_product(dict(MUG))
    assert await catalog.products.get(product.id) == product
    [(envelope, event)] = catalog.outbox.events()
    assert (envelope.id, envelope.type, envelope.source, envelope.subject) == (
        created_event_id(product.id), "ProductCreated", "catalog",
        "mercato.catalog.ProductCreated")
    assert event == ProductCreated(product_id=product.id, sku="MUG-1", name="Mug",
                                   category="kitchen", price=1200, currency="USD")


async def test_a_failure_after_the_insert_rolls_back_the_product_and_its_event(products):
    outbox = ExplodingMemoryOutbox(products.db, "catalog", fail_on=EVERY_EVENT)
    catalog = make_catalog(products, outbox)
    with pytest.raises(RuntimeError):
        await catalog.create_product(dict(MUG))
    assert await stored(catalog) == []
    assert outbox.events() == []
    assert not outbox.wakeup.is_set()  # the relay is woken by commits only


async def test_a_duplicate_sku_is_a_409_and_adds_neither_a_product_nor_an_event(catalog):
    first = await catalog.create_product(dict(MUG))
    with pytest.raises(DuplicateSku):
        await catalog.create_product({**MUG, "name": "Another mug"})
    assert await stored(catalog) == [first.id]
    assert [e.product_id for _, e in catalog.outbox.events()] == [first.id]


async def test_updating_a_product_publishes_only_the_fields_that_changed(catalog):
    product = await catalog.create_product(dict(MUG))
    updated = await catalog.update_product(product.id, {"price": 1500, "name": "Mug",
                                                        "category": "tableware"})
    assert (updated.price, updated.category) == (1500, "tableware")
    assert await catalog.products.get(product.id) == updated
    [_, (envelope, event)] = catalog.outbox.events()
    assert envelope.subject == "mercato.catalog.ProductUpdated"
    assert event == ProductUpdated(product_id=product.id,
                                   changes={"price": 1500, "category": "tableware"})
    assert isinstance(event.changes["price"], int)


async def test_repeating_an_update_changes_nothing_and_adds_no_second_event(catalog):
    product = await catalog.create_product(dict(MUG))
    first = await catalog.update_product(product.id, {"price": 1500})
    again = await catalog.update_product(product.id, {"price": 1500})
    assert again == first  # not even updated_at moves
    assert [type(e) for _, e in catalog.outbox.events()] == [
        ProductCreated, ProductUpdated]


async def test_two_different_updates_are_two_events_with_distinct_ids(catalog):
    product = await catalog.create_product(dict(MUG))
    await catalog.update_product(product.id, {"price": 1500})
    await catalog.update_product(product.id, {"price": 1600})
    events = catalog.outbox.events()
    assert [e.changes for _, e in events[1:]] == [{"price": 1500}, {"price": 1600}]
    assert len({envelope.id for envelope, _ in events}) == 3


async def test_a_failed_update_rolls_back_the_change_and_its_event(products):
    first = make_catalog(products)
    product = await first.create_product(dict(MUG))
    catalog = make_catalog(products, ExplodingMemoryOutbox(products.db, "catalog",
                                                           fail_on=EVERY_EVENT))
    with pytest.raises(RuntimeError):
        await catalog.update_product(product.id, {"price": 1})
    assert await catalog.products.get(product.id) == product
    assert [type(e) for _, e in first.outbox.events()] == [ProductCreated]
    assert catalog.outbox.events() == []


async def test_an_update_to_a_taken_sku_is_a_409_and_publishes_nothing(catalog):
    mug = await catalog.create_product(dict(MUG))
    await catalog.create_product({**MUG, "sku": "TEA-1", "name": "Tea"})
    with pytest.raises(DuplicateSku):
        await catalog.update_product(mug.id, {"sku": "TEA-1"})
    assert (await catalog.products.get(mug.id)).sku == "MUG-1"
    assert [type(e) for _, e in catalog.outbox.events()] == [
        ProductCreated, ProductCreated]


async def test_updating_an_unknown_product_is_404_and_publishes_nothing(catalog):
    with pytest.raises(NotFound, match="product nope was not found"):
        await catalog.update_product("nope", {"price": 1})
    assert catalog.outbox.events() == []


async def test_an_invalid_update_is_422_and_publishes_nothing(catalog):
    product = await catalog.create_product(dict(MUG))
    for fields in ({"price": -1}, {"colour": "red"}):
        with pytest.raises(CatalogError) as caught:
            await catalog.update_product(product.id, fields)
        assert not isinstance(caught.value, DuplicateSku)
    assert await catalog.products.get(product.id) == product
    assert len(catalog.outbox.events()) == 1
