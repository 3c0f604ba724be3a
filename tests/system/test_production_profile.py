"""`mercato up --profile production` as the session's production platform runs it
(tests/conftest.py): every process in production mode, each service on its own
PostgreSQL database, NATS as three nodes holding three copies of every stream, the
gateway's limits in Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import nats
import redis

from mercato.chassis.messaging.servers import nats_servers
from mercato.platform.running import login
from tests.support.redis_server import REDIS_URL
from tests.system.platform import Platform
from tests.system.stacks import SERVICES, on_server


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_every_process_runs_in_production_mode_on_its_own_database(production_platform):
    p: Platform = production_platform
    run = p.env["MERCATO_RATE_LIMIT_REDIS_PREFIX"].split(":")[1]  # stack_env's run id
    for service in SERVICES:
        env = environ_of(p.pid_of(service))
        assert env["MERCATO_ENV"] == "production", service
        url = env[f"MERCATO_{service.upper()}_DATABASE_URL"]
        assert urlsplit(url).path == f"/mercato_t_{run}_{service}"

    async def tables(service: str) -> set[str]:
        url = p.env[f"MERCATO_{service.upper()}_DATABASE_URL"]
        conn = await asyncpg.connect(on_server(urlsplit(url).path.lstrip("/")))
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    assert {"order_events", "sagas", "outbox"} <= asyncio.run(tables("orders"))
    assert {"payments", "outbox"} <= asyncio.run(tables("payments"))


def test_nats_is_three_nodes_and_every_stream_has_three_copies(production_platform):
    p: Platform = production_platform
    url = json.loads((p.data_dir / "run" / "state.json").read_text())["nats_url"]
    assert len(nats_servers(url)) == 3

    async def replicas() -> dict[str, int]:
        nc = await nats.connect(nats_servers(url), **login(p.data_dir))
        try:
            js = nc.jetstream()
            return {s.config.name: s.config.num_replicas for s in await js.streams_info()}
        finally:
            await nc.close()

    copies = asyncio.run(replicas())
    assert {"MERCATO_ORDERS", "MERCATO_PAYMENTS", "AUDIT", "KV_mercato_registry"} <= set(
        copies), copies
    assert set(copies.values()) == {3}, copies


def test_the_gateways_limits_are_kept_in_redis(production_platform):
    p: Platform = production_platform
    with p.client() as c:
        assert c.get("/api/v1/catalog/products").status_code == 200
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=p.env["MERCATO_RATE_LIMIT_REDIS_PREFIX"] + "*"))
    finally:
        client.close()
    assert keys, "no rate-limit bucket in Redis under the platform's prefix"
