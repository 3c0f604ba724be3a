"""The cart's own database: one row per cart (its currency) and one per line.

Writes take the caller's transaction (``tx``): the handler opens one unit of work and
reads, decides and writes a cart in it.
"""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.data import Connection, Row
from mercato.services.cart.domain import Cart, CartLine

CART_SQL = "SELECT currency FROM carts WHERE user_id = ?"
LINES_SQL = ("SELECT product_id, quantity FROM cart_items WHERE user_id = ?"
             " ORDER BY position, product_id")


class SqlCartRepository:
    """Carts and their lines; reads outside a unit of work go through ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str, tx: Connection | None = None) -> Cart:
        """The user's cart (in ``tx`` when given); an empty one if they have none."""
        source = tx or self.db
        head = await source.fetch_one(CART_SQL, user_id)
        if head is None:
            return Cart(user_id, None)
        return _cart(user_id, head, await source.fetch_all(LINES_SQL, user_id))

    async def open(self, tx: Connection, user_id: str, currency: str, at: str) -> None:
        await tx.execute(
            "INSERT INTO carts (user_id, currency, created_at, updated_at) VALUES (?, ?, ?, ?)",
            user_id, currency, at, at)

    async def put_line(self, tx: Connection, user_id: str, product_id: str, quantity: int,
                       at: str) -> None:
        """Set a line's quantity, adding the line at the end if it is new."""
        changed = await tx.execute(
            "UPDATE cart_items SET quantity = ?, updated_at = ? WHERE user_id = ?"
            " AND product_id = ?", quantity, at, user_id, product_id)
        if changed == 0:
            await tx.execute(
                "INSERT INTO cart_items (user_id, product_id, quantity, position, added_at,"
                " updated_at) SELECT ?, ?, ?, COALESCE(MAX(position), 0) + 1, ?, ?"
                " FROM cart_items WHERE user_id = ?",
                user_id, product_id, quantity, at, at, user_id)
        await self._touch(tx, user_id, at)

    async def remove_line(self, tx: Connection, user_id: str, product_id: str,
                          at: str) -> None:
        """Drop a line; the last one gone, the cart goes too, and with it its currency."""
        await tx.execute(
            "DELETE FROM cart_items WHERE user_id = ? AND product_id = ?", user_id, product_id)
        left = await tx.fetch_one(
            "SELECT COUNT(*) AS n FROM cart_items WHERE user_id = ?", user_id)
        if left and left["n"] == 0:
            await tx.execute("DELETE FROM carts WHERE user_id = ?", user_id)
        else:
            await self._touch(tx, user_id, at)

    async def clear(self, tx: Connection, user_id: str) -> None:
        await tx.execute("DELETE FROM cart_items WHERE user_id = ?", user_id)
        await tx.execute("DELETE FROM carts WHERE user_id = ?", user_id)

    async def _touch(self, tx: Connection, user_id: str, at: str) -> None:
        await tx.execute("UPDATE carts SET updated_at = ? WHERE user_id = ?", at, user_id)


def _cart(user_id: str, head: Row, rows: list[Row]) -> Cart:
    lines = tuple(CartLine(r["product_id"], r["quantity"]) for r in rows)
    return Cart(user_id, head["currency"], lines)
