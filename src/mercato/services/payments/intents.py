"""What payments keeps from OrderPlaced for a choreographed checkout: the amount, the
customer and the card token, still sealed (opened only to authorize, then forgotten); of
an orchestrated order only that it is one, so its StockReserved is left to the
orchestrator. ``IntentRepository`` (ports.py) on the ``checkout_intents`` table.

Each write is a unit of work of its own: the reactions (choreography.py) write nothing
else with an intent.
"""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.data import Row
from mercato.contracts.orders import OrderPlaced


class SqlIntentRepository:
    """The checkout intents, one row per order."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember(self, event: OrderPlaced, at: str) -> None:
        """Idempotent: the first OrderPlaced of an order is kept."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO checkout_intents (order_id, customer_id, amount, currency,"
                " sealed_card_token, created_at, checkout) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (order_id) DO NOTHING",
                event.order_id, event.customer_id, event.total, event.currency,
                event.sealed_card_token or "", at, event.checkout)

    async def get(self, order_id: str) -> Row | None:
        """The order's intent; None while its OrderPlaced is unheard."""
        return await self.db.fetch_one(
            "SELECT order_id, customer_id, amount, currency, sealed_card_token, checkout"
            " FROM checkout_intents WHERE order_id = ?", order_id)

    async def forget_card(self, order_id: str) -> None:
        """The sealed card token is needed to authorize only: emptied once that is
        answered or the checkout called off, so payments keeps no card at rest."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE checkout_intents SET sealed_card_token = ''"
                             " WHERE order_id = ?", order_id)
