"""A database that does not answer is a 503 with Retry-After, named as such, not a 500."""

from __future__ import annotations

from fastapi import APIRouter

from mercato.chassis import create_service
from mercato.chassis.data import DatabaseUnavailable
from mercato.chassis.data.db import DatabaseBusy, DatabaseFull
from tests.support.service_http import WORKLOAD_KEYS, bearer, client, service_runtime


def app_raising(tmp_path, error: Exception):
    router = APIRouter()

    @router.post("/work")
    async def work() -> dict:
        raise error

    return create_service(service_runtime("catalog", tmp_path), routers=[router],
                          migrations_dir=None)


async def test_an_unreachable_database_is_a_503_to_try_again(tmp_path):
    app = app_raising(tmp_path, DatabaseUnavailable("PostgreSQL did not answer: timeout"))
    as_orders = bearer(WORKLOAD_KEYS.identity("orders").token("catalog"))
    async with client(app, headers=as_orders) as c:
        r = await c.post("/work")
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/database-unavailable")
    assert "did not answer" in r.json()["detail"]


async def test_sqlite_locked_too_long_by_another_process_is_the_same_503(tmp_path):
    app = app_raising(tmp_path, DatabaseBusy("catalog.db stayed locked for 5.0s"))
    as_orders = bearer(WORKLOAD_KEYS.identity("orders").token("catalog"))
    async with client(app, headers=as_orders) as c:
        r = await c.post("/work")
    assert r.status_code == 503 and r.json()["type"].endswith("/database-unavailable")
    assert r.json()["cause"] == "locked" and "locked by another writer" in r.json()["detail"]


async def test_a_full_disk_is_a_503_naming_it(tmp_path):
    app = app_raising(tmp_path, DatabaseFull("catalog.db: the disk is full"))
    as_orders = bearer(WORKLOAD_KEYS.identity("orders").token("catalog"))
    async with client(app, headers=as_orders) as c:
        r = await c.post("/work")
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json()["cause"] == "disk-full" and "no disk space" in r.json()["detail"]
