"""In-memory fakes of the services' repository ports, for handler tests without a
database. Each implements its service's Protocol (``<service>/ports.py``) and runs through
the same contract tests as the SQL adapter (tests/db_contract), so a handler test on a fake
means what it would mean on SQLite or PostgreSQL.

``MemoryDatabase`` stands in for the chassis ``Database``: its transactions run one at a
time (as SQLite's single writer does), a transaction that raises puts every attached
repository back as it was when the transaction began, and a read outside a transaction
waits for the running one (``outside``), as SQLite's do. There is no SQL: a statement sent
to it fails the test, naming it.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol


class Snapshotting(Protocol):
    """A fake repository's state, taken and put back by ``MemoryDatabase``."""

    def snapshot(self) -> Any: ...
    def restore(self, state: Any) -> None: ...


class NoSql(AssertionError):
    """Something sent SQL to the in-memory database: it needs the SQL adapter instead."""


class MemoryConnection:
    """One transaction of ``MemoryDatabase``: the hook after commit and the named locks
    (nothing to do: the transactions already run one at a time); no statements."""

    def __init__(self) -> None:
        self.after_commit: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        self.after_commit.append(callback)

    async def lock(self, key: str) -> None:
        return None

    @asynccontextmanager
    async def savepoint(self, name: str = "attempt") -> AsyncIterator[None]:
        raise NoSql(f"savepoint {name!r} in the in-memory database")
        yield  # pragma: no cover

    async def execute(self, sql: str, *params: Any) -> int:
        raise NoSql(sql)

    async def fetch_one(self, sql: str, *params: Any) -> None:
        raise NoSql(sql)

    async def fetch_all(self, sql: str, *params: Any) -> list:
        raise NoSql(sql)

    async def execute_many(self, sql: str, rows: Any) -> None:
        raise NoSql(sql)


class MemoryDatabase:
    """The chassis ``Database`` for fakes (see the module's docstring)."""

    def __init__(self) -> None:
        self._stores: list[Snapshotting] = []
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task | None = None  # the task in a transaction now
        self.transactions = 0  # committed ones

    def attach(self, store: Snapshotting) -> None:
        """Make ``store``'s state part of every transaction from now on."""
        self._stores.append(store)

    @asynccontextmanager
    async def transaction(self, *, traced: bool = True) -> AsyncIterator[MemoryConnection]:
        async with self._lock:
            self._holder = asyncio.current_task()
            stores = list(self._stores)  # one attached meanwhile began empty: kept as is
            before = [copy.deepcopy(s.snapshot()) for s in stores]
            tx = MemoryConnection()
            try:
                yield tx
            except BaseException:
                for store, state in zip(stores, before, strict=True):
                    store.restore(state)
                raise
            finally:
                self._holder = None
            self.transactions += 1
        for callback in tx.after_commit:
            callback()

    async def outside(self) -> None:
        """Every fake's read outside a transaction starts here. As SQLite's reads do, it
        waits for the running transaction to end, so no other task sees its writes before
        they commit (or at all, if it rolls back); in the task that holds the transaction
        it fails: on SQLite that read would wait for itself forever (pass ``tx``)."""
        if self._holder is not None and self._holder is asyncio.current_task():
            raise AssertionError("a read outside the transaction, from inside it: on SQLite "
                                 "it waits for itself forever; read in the transaction (tx)")
        async with self._lock:
            return

    async def fetch_one(self, sql: str, *params: Any) -> None:
        raise NoSql(sql)

    async def fetch_all(self, sql: str, *params: Any) -> list:
        raise NoSql(sql)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
