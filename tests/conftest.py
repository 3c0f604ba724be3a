"""Fixtures shared by every test layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.data.migrations import migrate, sqlite_url

SERVICES_DIR = Path(__file__).resolve().parents[1] / "src" / "mercato" / "services"


@pytest.fixture(scope="session")
def _migrated_templates(tmp_path_factory):
    """One database per service migrated once per session; tests get copies of it
    (running Alembic costs far more than copying a small file)."""
    folder = tmp_path_factory.mktemp("templates")
    made: dict[str, Path] = {}

    def template(service: str) -> Path:
        if service not in made:
            path = folder / f"{service}.db"
            migrate(SERVICES_DIR / service / "migrations", sqlite_url(path),
                    folder / ".lock")
            made[service] = path
        return made[service]

    return template


@pytest.fixture
def service_db_for(tmp_path, _migrated_templates):
    """Factory: ``await service_db_for("inventory")`` gives a migrated SqliteDatabase."""
    opened: list[SqliteDatabase] = []

    async def make(service: str) -> SqliteDatabase:
        path = tmp_path / f"{service}.db"
        shutil.copyfile(_migrated_templates(service), path)
        db = SqliteDatabase(path)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db._conn.close()
