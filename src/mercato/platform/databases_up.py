"""``mercato up`` brings every SQLite database to head in ONE child process, alongside
NATS, the trace store and the card provider, before the services start.

Each service would otherwise spawn a migration child of its own (chassis/data/opening.py):
ten interpreter starts, most of a CPU-second each, on the first start of a data dir. Once
this child has run, each database is recorded at head (chassis/data/heads.py) and the
services skip theirs. A database already known to be at head is left out; none left, no
child at all. A service on PostgreSQL migrates itself as before (its advisory lock orders
replicas on any machine). If this child fails, ``mercato up`` says so and goes on: each
service then migrates its own database, and fails as it always did if that fails.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mercato.chassis.data.heads import at_head
from mercato.chassis.data.migrations import MigrationFailed, migrate_all_in_child
from mercato.chassis.data.opening import database_target, migration_lock
from mercato.chassis.settings import Settings
from mercato.platform.catalog import SERVICES


def migrations_dir(service: str) -> Path | None:
    """The service's Alembic history (``migrations/`` next to its bootstrap module), found
    without importing the service; None for one without a database (the mobile BFF)."""
    package = SERVICES[service].partition(":")[0].rpartition(".")[0]
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    history = Path(next(iter(found.submodule_search_locations))) / "migrations"
    return history if (history / "env.py").is_file() else None


def sqlite_jobs(settings: Settings) -> list[tuple[Path, str, Path]]:
    """``(migrations_dir, url, lock_file)`` of every service's SQLite database not known
    to be at head."""
    jobs = []
    for service in SERVICES:
        history = migrations_dir(service)
        if history is None:
            continue
        url = database_target(settings, service)
        if not url.startswith("sqlite:"):
            continue
        lock = migration_lock(settings, service)
        if not at_head(history, Path(url.removeprefix("sqlite:///")), lock):
            jobs.append((history, url, lock))
    return jobs


async def migrate_databases(settings: Settings, warn) -> int:
    """Every SQLite database brought to head in one child; how many it migrated. A failure
    is ``warn``ed, not raised (each service then tries its own)."""
    jobs = sqlite_jobs(settings)
    if not jobs:
        return 0
    try:
        await migrate_all_in_child(jobs)
    except MigrationFailed as exc:
        warn(f"{exc}\n(each service migrates its own database instead)")
        return 0
    return len(jobs)
