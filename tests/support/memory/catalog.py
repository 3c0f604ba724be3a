"""``ProductRepository`` (services/catalog/ports.py) in memory, with the SQL adapter's
cursors (``store.encode_cursor``), so a page means the same on both."""

from __future__ import annotations

import re

from mercato.chassis.data import Connection
from mercato.services.catalog.domain import DuplicateSku, Product
from mercato.services.catalog.store import decode_cursor, encode_cursor
from tests.support.memory import MemoryDatabase


def _like(fragment: str) -> re.Pattern[str]:
    """SQL's ``LIKE '%fragment%'``: ``%`` is any run of characters, ``_`` any one."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in fragment)
    return re.compile(".*" + "".join(parts) + ".*", re.DOTALL)


class MemoryProductRepository:
    """Products by id, in a dict; the SKU is unique as the table's constraint makes it."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._products: dict[str, Product] = {}
        db.attach(self)

    def snapshot(self) -> dict[str, Product]:
        return self._products

    def restore(self, state: dict[str, Product]) -> None:
        self._products = state

    async def get(self, product_id: str, tx: Connection | None = None) -> Product | None:
        if tx is None:
            await self.db.outside()
        return self._products.get(product_id)

    async def get_many(self, product_ids: list[str]) -> list[Product]:
        await self.db.outside()
        return [self._products[pid] for pid in dict.fromkeys(product_ids)
                if pid in self._products]

    async def add(self, tx: Connection, product: Product) -> None:
        if product.id in self._products or self._sku_taken(product):
            raise DuplicateSku(f"sku {product.sku!r} already exists")
        self._products[product.id] = product

    async def save(self, tx: Connection, product: Product) -> None:
        if product.id not in self._products:
            return  # an UPDATE of no row
        if self._sku_taken(product):
            raise DuplicateSku(f"sku {product.sku!r} already exists")
        self._products[product.id] = product

    async def search(
        self, *, text: str | None, category: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Product], str | None]:
        await self.db.outside()
        found = sorted(self._products.values(), key=lambda p: (p.name, p.id))
        if text:
            pattern = _like(text.lower())
            found = [p for p in found if pattern.fullmatch(p.name.lower())
                     or pattern.fullmatch(p.description.lower())]
        if category:
            found = [p for p in found if p.category == category]
        if cursor:
            after = decode_cursor(cursor)
            found = [p for p in found if (p.name, p.id) > after]
        items = found[:limit]
        return items, encode_cursor(items[-1]) if len(found) > limit else None

    async def categories(self) -> list[tuple[str, int]]:
        await self.db.outside()
        counts: dict[str, int] = {}
        for product in self._products.values():
            counts[product.category] = counts.get(product.category, 0) + 1
        return sorted(counts.items())

    def _sku_taken(self, product: Product) -> bool:
        return any(p.sku == product.sku and p.id != product.id
                   for p in self._products.values())
