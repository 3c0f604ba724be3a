"""The two stacks the system tests run on: ``embedded`` (SQLite files, one NATS server,
limits in the gateway's memory: `mercato up` as a newcomer runs it) and ``production``
(PostgreSQL on the machine's server, a three-node NATS cluster, Redis for the gateway's
limits: docs/production.md). Journey, messaging-fault and verify tests take a ``stack``
parameter instead of being copied.

A production platform's services each get a database of their own, named for this run
(``MERCATO_<SERVICE>_DATABASE_URL``), dropped when the platform is gone; its Redis keys
carry a prefix of their own, deleted likewise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
import redis

from tests.support.redis_server import REDIS_URL, system_redis

STACKS = ("embedded", "production")
SERVICES = ("identity", "catalog", "inventory", "cart", "orders", "payments", "shipping",
            "notifications", "loyalty")
PG_SERVER = os.environ.get("MERCATO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")


def on_server(name: str) -> str:
    """The URL of the database ``name`` on the test server."""
    return PG_SERVER.rstrip("/") + "/" + name


async def drop_databases(names: list[str]) -> None:
    """Drop these databases (made by this run), whoever is still connected."""
    admin = await asyncpg.connect(on_server("postgres"), timeout=5)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _require_postgres() -> None:
    async def ping() -> None:
        conn = await asyncpg.connect(on_server("postgres"), timeout=5)
        await conn.close()
    try:
        asyncio.run(ping())
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {PG_SERVER} does not answer ({exc}); start it with "
                    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'")


def run_databases(run: str) -> dict[str, str]:
    """Each service's database of the run ``run``: {service: database name}."""
    return {s: f"mercato_t_{run}_{s}" for s in SERVICES}


@contextlib.contextmanager
def stack_env(stack: str) -> Iterator[dict[str, str]]:
    """The environment of a platform on ``stack``; what it made is removed on exit."""
    if stack == "embedded":
        yield {}
        return
    assert stack == "production", stack
    _require_postgres()
    run = uuid.uuid4().hex[:10]
    databases = run_databases(run)
    prefix = f"mercato-test:{run}:"
    system_redis().close()  # fails the test now if no Redis answers
    env = {f"MERCATO_{s.upper()}_DATABASE_URL": on_server(db) for s, db in databases.items()}
    env.update(MERCATO_REDIS_URL=REDIS_URL, MERCATO_RATE_LIMIT_REDIS_PREFIX=prefix,
               MERCATO_CATALOG_CACHE_PREFIX=prefix + "catalog:", MERCATO_NATS_CLUSTER="3")
    try:
        yield env
    finally:
        asyncio.run(drop_databases(list(databases.values())))
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
