"""Schema migrations with Alembic, one history per service.

Each service keeps ``migrations/`` next to its code with an ``env.py`` that calls
``run_env()`` and a ``versions/`` folder. At start-up a service upgrades its database to
head in a short-lived child process (``migrate_in_child``): Alembic and SQLAlchemy weigh
about 30 MB of memory that a service would otherwise carry for its whole life only to run
migrations once. A file lock keeps replicas starting together from racing.
"""

from __future__ import annotations

import asyncio
import fcntl
import sys
from pathlib import Path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def migrate(migrations_dir: Path, url: str, lock_file: Path) -> None:
    """Upgrade the database at ``url`` to the newest revision in ``migrations_dir``."""
    from alembic import command
    from alembic.config import Config

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


class MigrationFailed(RuntimeError):
    pass


async def migrate_in_child(migrations_dir: Path, url: str, lock_file: Path) -> None:
    """``migrate`` in a child Python process, without blocking the event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mercato.chassis.data.migrations", str(migrations_dir), url,
        str(lock_file), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise MigrationFailed(f"migrating {url} failed:\n{output.decode(errors='replace')}")


def run_env() -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if __name__ == "__main__":
    migrate(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
