"""An in-memory signing-key table implementing signing.py's port, for the rules' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from mercato.services.identity.domain import KeyAlreadyKnown, StoredKey


class InMemorySigningKeyUnit:
    def __init__(self, rows: dict[str, StoredKey]) -> None:
        self.rows = rows

    async def all(self) -> list[StoredKey]:
        return sorted(self.rows.values(), key=lambda k: (k.activates_at, k.kid))

    async def add(self, key: StoredKey) -> None:
        if key.kid in self.rows:
            raise KeyAlreadyKnown(f"key {key.kid} is known already")
        self.rows[key.kid] = key

    async def set_retire_after(self, key: StoredKey) -> None:
        self.rows[key.kid] = replace(self.rows[key.kid], retire_after=key.retire_after)

    async def erase(self, kid: str, at: datetime) -> None:
        if self.rows[kid].retired_at is None:
            self.rows[kid] = replace(self.rows[kid], private_pem=None, retired_at=at)


class InMemorySigningKeyRepository:
    """Changes made in a unit are kept only if the unit ends without an error."""

    def __init__(self, keys: list[StoredKey] | None = None) -> None:
        self.rows = {k.kid: k for k in keys or []}

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[InMemorySigningKeyUnit]:
        unit = InMemorySigningKeyUnit(dict(self.rows))
        yield unit
        self.rows = unit.rows

    async def all(self) -> list[StoredKey]:
        return await InMemorySigningKeyUnit(self.rows).all()
