"""A service's own database: the async ``Database`` seam with its SQLite and PostgreSQL
adapters, and schema migrations with Alembic.

Public API: ``Database``, ``Connection``, ``Conflict``, ``DatabaseUnavailable``, ``Row``,
``SqliteDatabase``,
``PostgresDatabase``, ``ensure_database``, ``service_database_url``, ``TransactionLost``,
``migrate``, ``migrate_in_child``, ``MigrationFailed``, ``run_env``, ``sqlite_url``.
"""

from mercato.chassis.data.db import (
    Conflict,
    Connection,
    Database,
    DatabaseUnavailable,
    Row,
    SqliteDatabase,
    TransactionLost,
)
from mercato.chassis.data.migrations import (
    MigrationFailed,
    migrate,
    migrate_in_child,
    run_env,
    sqlite_url,
)
from mercato.chassis.data.postgres import (
    PostgresDatabase,
    ensure_database,
    service_database_url,
)

__all__ = ["Conflict", "Connection", "Database", "DatabaseUnavailable", "MigrationFailed",
           "PostgresDatabase", "Row", "SqliteDatabase", "TransactionLost", "ensure_database",
           "migrate", "migrate_in_child", "run_env", "service_database_url", "sqlite_url"]
