"""The cart's own database: one row per cart (its currency) and one per line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mercato.chassis import Database
from mercato.services.cart.domain import Cart, CartLine

CART_SQL = "SELECT currency FROM carts WHERE user_id = ?"
LINES_SQL = ("SELECT product_id, quantity FROM cart_items WHERE user_id = ?"
             " ORDER BY position, product_id")


class SqlCartStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> Cart:
        """The user's cart; an empty one if they have none."""
        head = await self.db.fetch_one(CART_SQL, user_id)
        if head is None:
            return Cart(user_id, None)
        rows = await self.db.fetch_all(LINES_SQL, user_id)
        return _cart(user_id, head, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[CartTx]:
        async with self.db.transaction() as tx:
            yield CartTx(tx)


class CartTx:
    """The store inside one transaction; everything commits or nothing does."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx

    async def get(self, user_id: str) -> Cart:
        head = await self._tx.fetch_one(CART_SQL, user_id)
        if head is None:
            return Cart(user_id, None)
        return _cart(user_id, head, await self._tx.fetch_all(LINES_SQL, user_id))

    async def open(self, user_id: str, currency: str, at: str) -> None:
        await self._tx.execute(
            "INSERT INTO carts (user_id, currency, created_at, updated_at) VALUES (?, ?, ?, ?)",
            user_id, currency, at, at)

    async def put_line(self, user_id: str, product_id: str, quantity: int, at: str) -> None:
        """Set a line's quantity, adding the line at the end if it is new."""
        changed = await self._tx.execute(
            "UPDATE cart_items SET quantity = ?, updated_at = ? WHERE user_id = ?"
            " AND product_id = ?", quantity, at, user_id, product_id)
        if changed == 0:
            await self._tx.execute(
                "INSERT INTO cart_items (user_id, product_id, quantity, position, added_at,"
                " updated_at) SELECT ?, ?, ?, COALESCE(MAX(position), 0) + 1, ?, ?"
                " FROM cart_items WHERE user_id = ?",
                user_id, product_id, quantity, at, at, user_id)
        await self._touch(user_id, at)

    async def remove_line(self, user_id: str, product_id: str, at: str) -> None:
        """Drop a line; the last one gone, the cart goes too, and with it its currency."""
        await self._tx.execute(
            "DELETE FROM cart_items WHERE user_id = ? AND product_id = ?", user_id, product_id)
        left = await self._tx.fetch_one(
            "SELECT COUNT(*) AS n FROM cart_items WHERE user_id = ?", user_id)
        if left and left["n"] == 0:
            await self._tx.execute("DELETE FROM carts WHERE user_id = ?", user_id)
        else:
            await self._touch(user_id, at)

    async def clear(self, user_id: str) -> None:
        await self._tx.execute("DELETE FROM cart_items WHERE user_id = ?", user_id)
        await self._tx.execute("DELETE FROM carts WHERE user_id = ?", user_id)

    async def _touch(self, user_id: str, at: str) -> None:
        await self._tx.execute("UPDATE carts SET updated_at = ? WHERE user_id = ?", at, user_id)


def _cart(user_id: str, head: dict, rows: list[dict]) -> Cart:
    lines = tuple(CartLine(r["product_id"], r["quantity"]) for r in rows)
    return Cart(user_id, head["currency"], lines)
