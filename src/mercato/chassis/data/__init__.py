"""A service's own database: the async ``Database`` seam with its SQLite adapter, and
schema migrations with Alembic.

Public API: ``Database``, ``Connection``, ``Row``, ``SqliteDatabase``, ``migrate``,
``migrate_in_child``, ``MigrationFailed``, ``run_env``, ``sqlite_url``.
"""

from mercato.chassis.data.db import Connection, Database, Row, SqliteDatabase
from mercato.chassis.data.migrations import (
    MigrationFailed,
    migrate,
    migrate_in_child,
    run_env,
    sqlite_url,
)

__all__ = ["Connection", "Database", "MigrationFailed", "Row", "SqliteDatabase", "migrate",
           "migrate_in_child", "run_env", "sqlite_url"]
