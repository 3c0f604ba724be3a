"""The chassis' faces load their modules on first use: a process that needs one module of
the chassis (the migration child, the trace store, any `mercato` command) does not pay for
the web framework, the HTTP client, NATS and the PostgreSQL driver with it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "aiohttp", "nats", "asyncpg", "redis", "sqlalchemy", "alembic")
LOADED = """
import sys, importlib
importlib.import_module(sys.argv[1])
print(" ".join(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:]))))
"""


def loaded(module: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", LOADED, module, *HEAVY],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_migration_child_imports_none_of_the_services_runtime():
    assert loaded("mercato.chassis.data.migrations") == set()


def test_the_settings_alone_import_no_web_framework_nor_client():
    assert loaded("mercato.chassis.settings") == set()


def test_a_face_still_offers_its_names():
    from mercato.chassis import Runtime, SqliteDatabase
    from mercato.chassis.data import migrate_in_child
    from mercato.chassis.runtime import Runtime as Direct

    assert Runtime is Direct
    assert SqliteDatabase.__module__ == "mercato.chassis.data.db"
    assert migrate_in_child.__module__ == "mercato.chassis.data.migrations"
