"""Identity's signing keys in its own database (table ``signing_keys``).

Every identity replica shares this table: a rotation done through one is read by the
others (``KeyRing.refresh``). Changes take the caller's transaction (``tx``), in which
``KeyRing`` holds the table's lock, so two rotations at once are serialized and the
second sees the first.
"""

from __future__ import annotations

import json
from datetime import datetime

from mercato.chassis import Database
from mercato.chassis.clock import iso
from mercato.chassis.data import Conflict, Connection, Row
from mercato.services.identity.domain import KeyAlreadyKnown, StoredKey

COLUMNS = "kid, public_jwk, private_pem, created_at, activates_at, retire_after, retired_at"
SELECT = f"SELECT {COLUMNS} FROM signing_keys"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _key(row: Row) -> StoredKey:
    pem = row["private_pem"]
    return StoredKey(
        kid=row["kid"], public_jwk=json.loads(row["public_jwk"]),
        private_pem=pem.encode() if pem else None, created_at=_moment(row["created_at"]),
        activates_at=_moment(row["activates_at"]), retire_after=_moment(row["retire_after"]),
        retired_at=_moment(row["retired_at"]))


def _ordered(rows: list[Row]) -> list[StoredKey]:
    """Oldest first, by time (ISO text with and without fractions does not sort)."""
    return sorted((_key(r) for r in rows), key=lambda k: (k.activates_at, k.kid))


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


class SqlSigningKeyRepository:
    """The signing keys, oldest first: ports.py's ``SigningKeyRepository``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self, tx: Connection | None = None) -> list[StoredKey]:
        return _ordered(await (tx or self.db).fetch_all(SELECT))

    async def add(self, tx: Connection, key: StoredKey) -> None:
        try:
            await tx.execute(
                f"INSERT INTO signing_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                key.kid, json.dumps(key.public_jwk, sort_keys=True),
                key.private_pem.decode() if key.private_pem else None, iso(key.created_at),
                iso(key.activates_at), _when(key.retire_after), _when(key.retired_at))
        except Conflict as exc:
            raise KeyAlreadyKnown(f"key {key.kid} is known already") from exc

    async def set_retire_after(self, tx: Connection, key: StoredKey) -> None:
        await tx.execute("UPDATE signing_keys SET retire_after = ? WHERE kid = ?",
                         _when(key.retire_after), key.kid)

    async def erase(self, tx: Connection, kid: str, at: datetime) -> None:
        """Retired: the private half is dropped for good, the public half kept for the list."""
        await tx.execute(
            "UPDATE signing_keys SET private_pem = NULL, retired_at = ?"
            " WHERE kid = ? AND retired_at IS NULL", iso(at), kid)
