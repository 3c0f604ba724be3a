"""Fixtures for the contract suite that runs on both backends (docs/production.md).

``pg_database`` is a fresh, empty database on the machine's PostgreSQL
(``MERCATO_TEST_POSTGRES_URL``, by default 127.0.0.1:5432 with trust auth), dropped after
the test. A server that does not answer fails the test: never a skip.

``database`` is an open, empty ``Database`` on each backend (``sqlite``: a temp file;
``postgresql``: the adapter on ``pg_database``); ``open_handle()`` opens another handle on
the same database, as another process would see it.

``service_db_url`` is the URL of an empty database of each backend for the service the
test module names in ``SERVICE``; ``kit.handles`` migrates it and opens handles on it.
``where`` and ``contract_db`` do the same for a repository's contract test, with the
in-memory fake as a third backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from mercato.chassis.data import Database, PostgresDatabase, SqliteDatabase
from tests.db_contract import kit
from tests.support.memory import MemoryDatabase

SERVER_URL = os.environ.get("MERCATO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")


def database_url(server_url: str, name: str) -> str:
    """``server_url`` (ending in ``/``, no database) with the database ``name``."""
    return server_url.rstrip("/") + "/" + name


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(database_url(SERVER_URL, "postgres"), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {SERVER_URL} does not answer ({exc}); start it with "
                    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'")


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """The URL of a new empty database ``mercato_t_<hex>``, dropped afterwards."""
    name = f"mercato_t_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database_url(SERVER_URL, name)
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path) -> Callable[[], Awaitable[Database]]:
    """Opens a new handle on this test's database of the parametrized backend."""
    if request.param == "sqlite":
        async def sqlite() -> Database:
            return SqliteDatabase(tmp_path / "t.db")
        return sqlite
    url = request.getfixturevalue("pg_database")  # sync here: the fixture runs on the loop

    async def postgresql() -> Database:
        return await PostgresDatabase.open(url, max_size=4)
    return postgresql


@pytest.fixture
async def open_handle(backend) -> AsyncIterator[Callable[[], Awaitable[Database]]]:
    """``await open_handle()``: one more handle on the test's database, closed after it."""
    handles: list[Database] = []

    async def open_() -> Database:
        handles.append(await backend())
        return handles[-1]
    yield open_
    for handle in handles:
        await handle.close()


@pytest.fixture
async def database(open_handle) -> Database:
    """An open, empty database of the parametrized backend."""
    return await open_handle()


@pytest.fixture(params=kit.BACKENDS)
def service_db_url(request, tmp_path) -> str:
    """The URL of an empty database of the parametrized backend for the service the test
    module names in ``SERVICE`` (sync, as ``backend``); ``kit.handles`` migrates it and opens
    handles on it."""
    return kit.service_url(request, tmp_path, request.module.SERVICE)


@pytest.fixture(params=[*kit.BACKENDS, "memory"])
def where(request, tmp_path) -> str:
    """A repository's contract test runs on each backend and on its in-memory fake: the URL
    of an empty database of the module's ``SERVICE``, or "memory" (sync, as ``backend``)."""
    if request.param == "memory":
        return "memory"
    return kit.service_url(request, tmp_path, request.module.SERVICE)


@pytest.fixture
async def contract_db(request, where, tmp_path) -> AsyncIterator:
    """The database under the repositories of a contract test: a ``MemoryDatabase`` for
    "memory", else the ``SERVICE``'s migrated and opened (closed after the test)."""
    if where == "memory":
        yield MemoryDatabase()
        return
    async with kit.handles(request.module.SERVICE, where, tmp_path, count=1) as (db,):
        yield db
