"""The catalog's own database: products, searched by text and category
(``ProductRepository`` in ports.py; ``BadCursor`` is the port's, still importable here)."""

from __future__ import annotations

import base64
import json

from mercato.chassis import Database
from mercato.chassis.data import Conflict, Connection
from mercato.services.catalog.domain import DuplicateSku, Product
from mercato.services.catalog.ports import BadCursor

COLUMNS = "id, sku, name, description, category, price, currency, created_at, updated_at"


def encode_cursor(product: Product) -> str:
    raw = json.dumps([product.name, product.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, pid = json.loads(raw)
        return str(name), str(pid)
    except (ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc


class SqlProductRepository:
    """Products. Writes take the caller's transaction (``tx``), so a handler stores a
    product and the event about it together; reads stand alone or join a ``tx``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, product_id: str, tx: Connection | None = None) -> Product | None:
        reader = self.db if tx is None else tx
        row = await reader.fetch_one(f"SELECT {COLUMNS} FROM products WHERE id = ?", product_id)
        return Product(**row) if row else None

    async def get_many(self, product_ids: list[str]) -> list[Product]:
        """The products of ``product_ids`` that exist, in one query (at most a lookup's
        500 ids: within both backends' bound on parameters)."""
        if not product_ids:
            return []
        marks = ", ".join("?" * len(product_ids))
        rows = await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM products WHERE id IN ({marks})", *product_ids)
        return [Product(**row) for row in rows]

    async def add(self, tx: Connection, product: Product) -> None:
        try:
            await tx.execute(
                f"INSERT INTO products ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                *_values(product),
            )
        except Conflict as exc:
            raise DuplicateSku(f"sku {product.sku!r} already exists") from exc

    async def save(self, tx: Connection, product: Product) -> None:
        try:
            await tx.execute(
                "UPDATE products SET sku=?, name=?, description=?, category=?, price=?,"
                " currency=?, updated_at=? WHERE id=?",
                product.sku, product.name, product.description, product.category,
                product.price, product.currency, product.updated_at, product.id,
            )
        except Conflict as exc:
            raise DuplicateSku(f"sku {product.sku!r} already exists") from exc

    async def search(
        self, *, text: str | None, category: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Product], str | None]:
        where, params = [], []
        if text:
            where.append("(lower(name) LIKE ? OR lower(description) LIKE ?)")
            pattern = f"%{text.lower()}%"
            params += [pattern, pattern]
        if category:
            where.append("category = ?")
            params.append(category)
        if cursor:
            name, pid = decode_cursor(cursor)
            where.append("(name > ? OR (name = ? AND id > ?))")
            params += [name, name, pid]
        sql = f"SELECT {COLUMNS} FROM products"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY name, id LIMIT ?"
        rows = await self.db.fetch_all(sql, *params, limit + 1)
        items = [Product(**r) for r in rows[:limit]]
        next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
        return items, next_cursor

    async def categories(self) -> list[tuple[str, int]]:
        """Every category with how many products it has, by name."""
        rows = await self.db.fetch_all(
            "SELECT category, COUNT(*) AS n FROM products GROUP BY category ORDER BY category")
        return [(r["category"], r["n"]) for r in rows]


def _values(p: Product) -> tuple:
    return (p.id, p.sku, p.name, p.description, p.category, p.price, p.currency,
            p.created_at, p.updated_at)
