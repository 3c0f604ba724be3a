"""mercato up migrates every SQLite database in one child before the services start: the
databases to migrate are those not known to be at head, found without importing a service;
one on PostgreSQL is the service's own business; a failed child is a warning."""

from __future__ import annotations

from mercato.chassis.data.migrations import MigrationFailed
from mercato.chassis.settings import load_settings
from mercato.platform import databases_up
from mercato.platform.catalog import SERVICES
from mercato.platform.databases_up import migrate_databases, migrations_dir, sqlite_jobs

WITH_DATABASE = set(SERVICES) - {"mobile-bff"}


def test_each_service_with_a_database_has_its_history_found_without_importing_it():
    assert {s for s in SERVICES if migrations_dir(s) is not None} == WITH_DATABASE
    assert migrations_dir("orders").name == "migrations"
    assert (migrations_dir("orders") / "versions").is_dir()


async def test_a_fresh_data_dir_is_migrated_in_one_child_then_nothing_is_left(tmp_path,
                                                                            monkeypatch):
    monkeypatch.delenv("MERCATO_DATABASE_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    jobs = sqlite_jobs(settings)
    assert {url.rpartition("/")[2] for _, url, _ in jobs} == {f"{s}.db" for s in WITH_DATABASE}
    assert await migrate_databases(settings, warn=print) == len(WITH_DATABASE)
    assert sqlite_jobs(settings) == []  # every database at head: no child next time
    assert await migrate_databases(settings, warn=print) == 0


def test_a_service_on_postgresql_is_left_to_migrate_itself(tmp_path, monkeypatch):
    monkeypatch.delenv("MERCATO_DATABASE_URL", raising=False)
    monkeypatch.setenv("MERCATO_CATALOG_DATABASE_URL", "postgresql://127.0.0.1/x")
    names = {url.rpartition("/")[2] for _, url, _ in sqlite_jobs(load_settings(data_dir=tmp_path))}
    assert "catalog.db" not in names and "orders.db" in names


async def test_a_failed_migration_is_said_and_start_up_goes_on(tmp_path, monkeypatch):
    monkeypatch.delenv("MERCATO_DATABASE_URL", raising=False)

    async def fails(jobs):
        raise MigrationFailed("migrating sqlite:///x failed:\nboom")

    monkeypatch.setattr(databases_up, "migrate_all_in_child", fails)
    said = []
    assert await migrate_databases(load_settings(data_dir=tmp_path), said.append) == 0
    assert "boom" in said[0] and "each service migrates its own database" in said[0]
