"""Helpers the contract suite's concurrency and query tests share (docs/production.md §1).

``Lingering``/``LingeringDatabase``: a transaction whose reads linger (``WINDOW``), so a
racing writer gets in between a read and the write it decides. ``service_url``: the URL of
a service's empty database of the parametrized backend, for a small fixture per module
(``@pytest.fixture(params=BACKENDS)``). ``handles``: that database migrated to head and
``count`` independent handles on it (two ``SqliteDatabase`` on one file, or two
``PostgresDatabase`` pools), as replicas of the service would hold, closed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mercato.chassis.data import Database, PostgresDatabase, SqliteDatabase
from mercato.chassis.data.migrations import migrate, sqlite_url
from tests.conftest import SERVICES_DIR

WINDOW = 0.05  # seconds after each read inside a transaction
BACKENDS = ["sqlite", "postgresql"]


class Lingering:
    """A transaction whose reads linger: the window a racing writer needs."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    async def fetch_one(self, sql: str, *params: Any) -> Any:
        row = await self._tx.fetch_one(sql, *params)
        await asyncio.sleep(WINDOW)
        return row


class LingeringDatabase:
    """``db`` whose transactions linger after each read."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextlib.asynccontextmanager
    async def transaction(self, **kwargs: Any) -> AsyncIterator[Lingering]:
        async with self._db.transaction(**kwargs) as tx:
            yield Lingering(tx)


def service_url(request: pytest.FixtureRequest, tmp_path: Path, service: str) -> str:
    """The URL of an empty database for ``service`` on the backend ``request.param``
    (``sqlite``: ``tmp_path/<service>.db``; ``postgresql``: ``pg_database``). Call it from a
    sync fixture: ``pg_database`` is async and runs on the loop (conftest ``backend``)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / f"{service}.db")
    return request.getfixturevalue("pg_database")


class Handles(list[Database]):
    """The open handles; ``await handles.open()`` adds one more, closed with the rest."""

    def __init__(self, url: str, path: Path, open_kwargs: dict[str, Any]) -> None:
        super().__init__()
        self._url, self._path, self._open_kwargs = url, path, open_kwargs

    async def open(self) -> Database:
        db = (SqliteDatabase(self._path) if self._url.startswith("sqlite")
              else await PostgresDatabase.open(self._url, **self._open_kwargs))
        self.append(db)
        return db


@contextlib.asynccontextmanager
async def handles(service: str, url: str, tmp_path: Path, count: int = 2,
                  **open_kwargs: Any) -> AsyncIterator[Handles]:
    """Migrates ``SERVICES_DIR/<service>/migrations`` on ``url`` (from ``service_url``), then
    yields ``count`` open handles on it; ``open_kwargs`` go to ``PostgresDatabase.open``
    (``max_size`` 4 unless given). Every handle, also those opened later, is closed after."""
    await asyncio.to_thread(migrate, SERVICES_DIR / service / "migrations", url,
                            tmp_path / ".migrate.lock")
    opened = Handles(url, tmp_path / f"{service}.db", {"max_size": 4, **open_kwargs})
    try:
        for _ in range(count):
            await opened.open()
        yield opened
    finally:
        for db in opened:
            await db.close()
