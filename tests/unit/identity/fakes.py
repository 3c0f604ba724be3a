"""An in-memory signing-key table implementing signing.py's port, for the rules' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from mercato.services.identity.domain import KeyAlreadyKnown, StoredKey


class InMemoryTransaction:
    """A copy of the table's rows, kept only if the transaction ends without an error."""

    def __init__(self, rows: dict[str, StoredKey]) -> None:
        self.rows = dict(rows)
        self.locks: list[str] = []

    async def lock(self, key: str) -> None:
        self.locks.append(key)


class InMemoryKeyDatabase:
    """The ``Database`` a ``KeyRing`` opens its transactions on, over the fake's rows."""

    def __init__(self, repository: InMemorySigningKeyRepository) -> None:
        self.repository = repository

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InMemoryTransaction]:
        tx = InMemoryTransaction(self.repository.rows)
        yield tx
        self.repository.rows = tx.rows


class InMemorySigningKeyRepository:
    """The port over a dict; ``db`` opens the transactions its writes take."""

    def __init__(self, keys: list[StoredKey] | None = None) -> None:
        self.rows = {k.kid: k for k in keys or []}
        self.db = InMemoryKeyDatabase(self)

    async def all(self, tx: InMemoryTransaction | None = None) -> list[StoredKey]:
        rows = tx.rows if tx else self.rows
        return sorted(rows.values(), key=lambda k: (k.activates_at, k.kid))

    async def add(self, tx: InMemoryTransaction, key: StoredKey) -> None:
        if key.kid in tx.rows:
            raise KeyAlreadyKnown(f"key {key.kid} is known already")
        tx.rows[key.kid] = key

    async def set_retire_after(self, tx: InMemoryTransaction, key: StoredKey) -> None:
        tx.rows[key.kid] = replace(tx.rows[key.kid], retire_after=key.retire_after)

    async def erase(self, tx: InMemoryTransaction, kid: str, at: datetime) -> None:
        if tx.rows[kid].retired_at is None:
            tx.rows[kid] = replace(tx.rows[kid], private_pem=None, retired_at=at)
