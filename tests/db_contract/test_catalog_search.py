"""The catalog's queries give the same answers on both backends (docs/production.md §1):
text search ignores case (``LIKE`` is case-sensitive on PostgreSQL, so both sides are
lowered), pages follow name then id, categories count as ints."""

from __future__ import annotations

import pytest

from mercato.services.catalog.domain import Product
from mercato.services.catalog.store import SqlProductRepository
from tests.db_contract import kit

SERVICE = "catalog"  # the database conftest ``service_db_url`` names

AT = "2026-03-01T09:00:00.000000+00:00"


@pytest.fixture
async def products(service_db_url, tmp_path):
    async with kit.handles(SERVICE, service_db_url, tmp_path, count=1, max_size=2) as (db,):
        store = SqlProductRepository(db)
        names = [("p1", "Blue Mug", "kitchen"), ("p2", "mug rack", "kitchen"),
                 ("p3", "Apron", "kitchen"), ("p4", "Zebra MUG", "toys"),
                 ("p5", "apple", "food")]
        async with db.transaction() as tx:
            for pid, name, category in names:
                await store.add(tx, Product(id=pid, sku=f"SKU-{pid}", name=name,
                                            description="Made of STONEWARE",
                                            category=category, price=100, currency="USD",
                                            created_at=AT, updated_at=AT))
        yield store


async def test_text_search_ignores_case_in_name_and_description(products):
    found, _ = await products.search(text="MuG", category=None, limit=10, cursor=None)
    assert [p.id for p in found] == ["p1", "p4", "p2"]  # byte order: capitals first
    found, _ = await products.search(text="stoneware", category="toys", limit=10, cursor=None)
    assert [p.id for p in found] == ["p4"]


async def test_pages_follow_name_then_id_with_the_same_order_on_both(products):
    seen, cursor = [], None
    while True:
        page, cursor = await products.search(text=None, category=None, limit=2, cursor=cursor)
        seen += [p.name for p in page]
        if cursor is None:
            break
    assert seen == ["Apron", "Blue Mug", "Zebra MUG", "apple", "mug rack"]


async def test_categories_count_as_ints(products):
    assert await products.categories() == [("food", 1), ("kitchen", 3), ("toys", 1)]
    assert all(type(n) is int for _, n in await products.categories())
