"""A service's database, chosen by its settings and migrated before it is used.

``MERCATO_<SERVICE>_DATABASE_URL`` or ``MERCATO_DATABASE_URL`` names a PostgreSQL server
(the service's own database ``mercato_<service>`` on it, created if missing) or one
database; unset, the service keeps a SQLite file in its folder under the data dir. Either
way the same Alembic history is brought to head first, in a child process
(``migrate_in_child``), and the service gets a ``Database``: its code does not know which.
A SQLite database known to be at head (``heads.py``) needs no child: every start but the
first, and every start under ``mercato up``, which migrates them all in one child first.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from mercato.chassis.data.db import Database, SqliteDatabase
from mercato.chassis.data.heads import at_head
from mercato.chassis.data.migrations import migrate_in_child, sqlite_url
from mercato.chassis.settings import Settings


def database_target(settings: Settings, service: str) -> str:
    """Where ``service`` keeps its data, as a URL (``sqlite:///...`` or ``postgresql://``)."""
    configured = settings.database_url_for(service)
    if configured is None:
        return sqlite_url(settings.service_dir(service) / f"{service}.db")
    from mercato.chassis.data.postgres import service_database_url  # asyncpg: only then

    if urlsplit(configured).scheme not in ("postgresql", "postgres"):
        raise ValueError(f"the database URL for {service} must be postgresql://...: got "
                         f"the scheme {urlsplit(configured).scheme!r}")
    return service_database_url(configured, service)


def migration_lock(settings: Settings, service: str) -> Path:
    """The file that serialises the migrators of ``service``'s SQLite database."""
    return settings.service_dir(service) / ".migrate.lock"


async def open_database(settings: Settings, service: str, migrations_dir: Path) -> Database:
    """The service's database, created if missing and migrated to head."""
    url = database_target(settings, service)
    lock_file = migration_lock(settings, service)
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///"))
        if not at_head(migrations_dir, path, lock_file):  # as on most starts (heads.py)
            await migrate_in_child(migrations_dir, url, lock_file)
        return SqliteDatabase(path,
                              busy_timeout_ms=int(settings.database_busy_timeout * 1000))
    from mercato.chassis.data.postgres import PostgresDatabase, ensure_database

    await ensure_database(url, urlsplit(url).path.lstrip("/"))
    await migrate_in_child(migrations_dir, url, lock_file)
    return await PostgresDatabase.open(url, max_size=settings.database_pool_size,
                                       connect_timeout=settings.database_connect_timeout,
                                       command_timeout=settings.database_statement_timeout)
