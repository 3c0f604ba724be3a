"""The catalog's repository port (services/catalog/ports.py), held to one behaviour on
every implementation: the SQL adapter on SQLite and on PostgreSQL, and the in-memory fake
the handlers' unit tests run on (tests/support/memory/catalog.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mercato.services.catalog.domain import DuplicateSku, Product
from mercato.services.catalog.ports import BadCursor
from mercato.services.catalog.store import SqlProductRepository
from tests.support.memory.catalog import MemoryProductRepository

SERVICE = "catalog"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-03-01T09:00:00.000000+00:00"
SHELF = [("p1", "Blue Mug", "kitchen"), ("p2", "mug rack", "kitchen"),
         ("p3", "Apron", "kitchen"), ("p4", "Zebra MUG", "toys"), ("p5", "apple", "food")]


def product(pid: str, name: str = "Mug", category: str = "kitchen", **fields) -> Product:
    return Product(**{"id": pid, "sku": f"SKU-{pid}", "name": name,
                      "description": "Made of STONEWARE", "category": category,
                      "price": 100, "currency": "USD", "created_at": AT, "updated_at": AT,
                      **fields})


@pytest.fixture
def repo(where, contract_db):
    return (MemoryProductRepository if where == "memory" else SqlProductRepository)(contract_db)


async def add(repo, *products: Product) -> None:
    async with repo.db.transaction() as tx:
        for p in products:
            await repo.add(tx, p)


@pytest.fixture
async def shelf(repo):
    await add(repo, *(product(pid, name, category) for pid, name, category in SHELF))
    return repo


async def test_a_product_added_is_found_by_id_alone_or_among_others(repo):
    mug = product("p1", price=1250, description="")
    await add(repo, mug, product("p2"))
    assert await repo.get("p1") == mug
    assert await repo.get("nope") is None
    found = await repo.get_many(["p2", "nope", "p1", "p2"])
    assert sorted(p.id for p in found) == ["p1", "p2"]
    assert await repo.get_many([]) == []


async def test_a_taken_sku_or_id_is_a_duplicate_and_adds_nothing(repo):
    await add(repo, product("p1"))
    for clash in (product("p2", sku="SKU-p1"), product("p1", sku="OTHER")):
        with pytest.raises(DuplicateSku, match=f"sku '{clash.sku}' already exists"):
            await add(repo, clash)
    assert await repo.get_many(["p1", "p2"]) == [product("p1")]


async def test_saving_overwrites_the_product_and_refuses_another_ones_sku(repo):
    await add(repo, product("p1"), product("p2"))
    changed = replace(product("p1"), name="Big mug", price=1500, updated_at="later")
    async with repo.db.transaction() as tx:
        await repo.save(tx, changed)
        await repo.save(tx, product("nobody"))  # no such product: nothing happens
        assert await repo.get("p1", tx) == changed  # seen inside
    assert (await repo.get("p1"), await repo.get("nobody")) == (changed, None)
    with pytest.raises(DuplicateSku, match="sku 'SKU-p2' already exists"):
        async with repo.db.transaction() as tx:
            await repo.save(tx, replace(changed, sku="SKU-p2"))
    assert await repo.get("p1") == changed


async def test_a_transaction_that_fails_leaves_nothing_behind(repo):
    await add(repo, product("p1"))
    with pytest.raises(RuntimeError):
        async with repo.db.transaction() as tx:
            await repo.add(tx, product("p2"))
            await repo.save(tx, product("p1", price=1))
            raise RuntimeError("the handler refused after writing")
    assert await repo.get("p1") == product("p1")
    assert await repo.get("p2") is None


async def test_text_search_ignores_case_in_name_and_description_as_like_does(shelf):
    found, _ = await shelf.search(text="MuG", category=None, limit=10, cursor=None)
    assert [p.id for p in found] == ["p1", "p4", "p2"]  # byte order: capitals first
    found, _ = await shelf.search(text="stoneware", category="toys", limit=10, cursor=None)
    assert [p.id for p in found] == ["p4"]
    found, _ = await shelf.search(text="m_g r", category=None, limit=10, cursor=None)
    assert [p.id for p in found] == ["p2"]  # "_" is LIKE's any one character
    found, _ = await shelf.search(text="teapot", category=None, limit=10, cursor=None)
    assert found == []


async def test_pages_follow_name_then_id_and_the_last_has_no_cursor(shelf):
    await add(shelf, product("p0", "apple", "food"))
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await shelf.search(text=None, category=None, limit=2, cursor=cursor)
        seen += [p.id for p in page]
        pages += 1
        if cursor is None:
            break
    assert seen == ["p3", "p1", "p4", "p0", "p5", "p2"]
    assert pages == 3  # a full last page gives no cursor to an empty one


async def test_a_category_is_paged_on_its_own(shelf):
    first, cursor = await shelf.search(text=None, category="kitchen", limit=2, cursor=None)
    rest, last = await shelf.search(text=None, category="kitchen", limit=2, cursor=cursor)
    assert ([p.id for p in first], [p.id for p in rest], last) == (["p3", "p1"], ["p2"], None)


async def test_a_cursor_no_search_gave_is_refused(shelf):
    for cursor in ("not-a-cursor!", "WzFd"):  # garbage; a list of one
        with pytest.raises(BadCursor):
            await shelf.search(text=None, category=None, limit=2, cursor=cursor)


async def test_categories_count_their_products_by_name(repo):
    assert await repo.categories() == []
    await add(repo, *(product(pid, name, category) for pid, name, category in SHELF))
    assert await repo.categories() == [("food", 1), ("kitchen", 3), ("toys", 1)]
    assert all(type(n) is int for _, n in await repo.categories())
