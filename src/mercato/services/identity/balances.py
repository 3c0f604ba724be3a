"""Identity's projection of the loyalty balances (``LoyaltyBalanceRepository``, ports.py):
one row per customer, fed by LoyaltyPointsChanged."""

from __future__ import annotations

from mercato.chassis import Database
from mercato.chassis.data import Connection


class SqlLoyaltyBalanceRepository:
    """The ``loyalty_balances`` table: customer, balance and the sequence it came with."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def points_of(self, user_id: str) -> int:
        row = await self.db.fetch_one(
            "SELECT balance FROM loyalty_balances WHERE user_id = ?", user_id)
        return int(row["balance"]) if row else 0

    async def record(self, tx: Connection, user_id: str, balance: int, sequence: int,
                     at: str) -> bool:
        return bool(await tx.execute(
            "INSERT INTO loyalty_balances (user_id, balance, sequence, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " balance = excluded.balance, sequence = excluded.sequence,"
            " updated_at = excluded.updated_at"
            " WHERE loyalty_balances.sequence < excluded.sequence",
            user_id, balance, sequence, at))
