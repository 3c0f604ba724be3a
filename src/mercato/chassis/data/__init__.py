"""A service's own database: the async ``Database`` seam with its SQLite and PostgreSQL
adapters, and schema migrations with Alembic.

Public API: ``Database``, ``Connection``, ``Conflict``, ``DatabaseUnavailable``, ``Row``,
``SqliteDatabase``,
``PostgresDatabase``, ``ensure_database``, ``service_database_url``, ``TransactionLost``,
``migrate``, ``migrate_in_child``, ``migrate_all_in_child``, ``MigrationFailed``,
``run_env``, ``sqlite_url``, ``at_head``.

Loaded on first use (``lazy_loader``): the migration child imports ``migrations`` alone,
not asyncpg and the SQLite adapter with it.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "db": ["Conflict", "Connection", "Database", "DatabaseUnavailable", "Row",
           "SqliteDatabase", "TransactionLost"],
    "heads": ["at_head"],
    "migrations": ["MigrationFailed", "migrate", "migrate_all_in_child", "migrate_in_child",
                   "run_env", "sqlite_url"],
    "postgres": ["PostgresDatabase", "ensure_database", "service_database_url"],
})
