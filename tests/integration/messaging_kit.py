"""Helpers for messaging tests: a restartable NATS server, and a database with the outbox,
inbox and an effects table, created through Alembic operations as services do."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import create_engine, text

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.messaging.schema import (
    add_outbox_traceparent,
    create_inbox_table,
    create_outbox_table,
)
from mercato.contracts.envelope import Event
from mercato.platform.nats_server import free_port, nats_command


def listening(port: int, seconds: float) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False

class Pinged(Event):
    """A test event."""

    SOURCE = "testsvc"
    n: int


class NatsServer:
    """A nats-server that can be stopped and started again on the same port and store."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(nats_command(self.port, self.store),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not listening(self.port, 10):
            raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def messaging_db(path: Path) -> SqliteDatabase:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        create_outbox_table(op)
        add_outbox_traceparent(op)
        create_inbox_table(op)
        conn.execute(text("CREATE TABLE effects (event_id TEXT, n INTEGER)"))
    engine.dispose()
    return SqliteDatabase(path)


async def eventually(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(await predicate())
