"""Fixtures shared by every test layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercato.chassis.db import SqliteDatabase
from mercato.chassis.migrations import migrate, sqlite_url

SERVICES_DIR = Path(__file__).resolve().parents[1] / "src" / "mercato" / "services"


@pytest.fixture
def service_db_for(tmp_path):
    """Factory: ``await service_db_for("inventory")`` gives a migrated SqliteDatabase."""
    opened: list[SqliteDatabase] = []

    async def make(service: str) -> SqliteDatabase:
        path = tmp_path / f"{service}.db"
        migrate(SERVICES_DIR / service / "migrations", sqlite_url(path), tmp_path / ".lock")
        db = SqliteDatabase(path)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db._conn.close()
