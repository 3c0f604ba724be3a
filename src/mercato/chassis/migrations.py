"""Schema migrations with Alembic, one history per service.

Each service keeps ``migrations/`` next to its code with an ``env.py`` that calls
``run_env()`` and a ``versions/`` folder. ``migrate()`` upgrades a database to head at
start-up, under a file lock so replicas starting together do not race.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine, pool


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def migrate(migrations_dir: Path, url: str, lock_file: Path) -> None:
    """Upgrade the database at ``url`` to the newest revision in ``migrations_dir``."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            command.upgrade(config, "head")
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_env() -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
