"""Schema migrations with Alembic, one history per service, on SQLite or PostgreSQL.

Each service keeps ``migrations/`` next to its code with an ``env.py`` that calls
``run_env()`` and a ``versions/`` folder. At start-up a service upgrades its database to
head in a short-lived child process (``migrate_in_child``): Alembic and SQLAlchemy weigh
about 30 MB of memory that a service would otherwise carry for its whole life only to run
migrations once.

Replicas starting together must not race. On SQLite a file lock next to the database
serialises them (one machine). On PostgreSQL the migrating connection holds a session
advisory lock (``pg_advisory_lock``, one fixed key per database) for the whole upgrade,
so replicas on any machine wait for the first and then find the database at head.

A ``postgresql://`` URL is run through SQLAlchemy's asyncpg dialect (asyncpg is already
the runtime's driver; no second PostgreSQL driver to install): an async engine, and the
migrations run synchronously inside it by ``connection.run_sync`` (Alembic's async
cookbook). The engine's connections are made by ``asyncpg.connect(url)`` itself, so the
URL means here what it means to the runtime (``sslmode``, ``sslrootcert``, several hosts:
libpq's parameters, which SQLAlchemy's own URL handling would hand to asyncpg as unknown
keywords). ``render_as_batch`` (copy-and-move for ALTERs SQLite cannot do) is on for
SQLite only.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The advisory lock's key, the same in every service's database (the lock is per database).
MIGRATION_LOCK_KEY = 0x6D65726361746F  # "mercato"

POSTGRES_SCHEMES = ("postgresql", "postgres")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file at ``path``."""
    return f"sqlite:///{path}"


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (with or without a driver)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    return scheme in POSTGRES_SCHEMES


def postgres_engine(url: str):
    """An async SQLAlchemy engine (no pool) on the PostgreSQL database at ``url``: a plain
    ``postgresql://`` (or ``postgres://``) URL through the asyncpg dialect, its connections
    made by ``asyncpg.connect(url)``; a URL naming its driver (``postgresql+...``) as is."""
    from sqlalchemy import pool
    from sqlalchemy.ext.asyncio import create_async_engine

    scheme = url.split(":", 1)[0]
    if "+" in scheme:
        return create_async_engine(url, poolclass=pool.NullPool)

    async def connect():
        import asyncpg

        return await asyncpg.connect(url)

    return create_async_engine("postgresql+asyncpg://", async_creator=connect,
                               poolclass=pool.NullPool)


def migrate(migrations_dir: Path, url: str, lock_file: Path) -> None:
    """Upgrade the database at ``url`` to the newest revision in ``migrations_dir``.

    ``lock_file`` serialises migrators of a SQLite database; on PostgreSQL it is not used
    (the advisory lock taken in ``run_env`` does that job across machines)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # configparser interpolates '%': a percent-encoded password must survive it
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if is_postgres(url):
        command.upgrade(config, "head")
        return
    from alembic.script import ScriptDirectory

    from mercato.chassis.data.heads import record_heads

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            command.upgrade(config, "head")
            # what the next start checks to skip the child (data/heads.py)
            record_heads(lock_file, migrations_dir,
                         list(ScriptDirectory.from_config(config).get_heads()))
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class MigrationFailed(RuntimeError):
    """The child process that migrated a database exited with an error (its output)."""


async def migrate_in_child(migrations_dir: Path, url: str, lock_file: Path) -> None:
    """``migrate`` in a child Python process, without blocking the event loop."""
    await migrate_all_in_child([(migrations_dir, url, lock_file)])


async def migrate_all_in_child(jobs: list[tuple[Path, str, Path]]) -> None:
    """``migrate`` each job (``(migrations_dir, url, lock_file)``), in order, in ONE child
    Python process (``mercato up`` brings every SQLite database to head so: one interpreter
    start instead of one per service). Cancelled, the child is killed."""
    argv = [str(part) for job in jobs for part in job]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mercato.chassis.data.migrations", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await proc.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        urls = ", ".join(without_password(url) for _, url, _ in jobs)
        raise MigrationFailed(f"migrating {urls} failed:\n{output.decode(errors='replace')}")


def without_password(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for messages and logs)."""
    return re.sub(r"^([^:/]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


def run_env() -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    if is_postgres(url):
        _run_blocking(_run_postgres(url))
    else:
        _run_sqlite(url)


def _run_sqlite(url: str) -> None:
    from sqlalchemy import create_engine, pool

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run_migrations(connection)
    finally:
        engine.dispose()


async def _run_postgres(url: str) -> None:
    from sqlalchemy import text

    engine = postgres_engine(url)
    try:
        async with engine.connect() as connection:
            # A session lock: it outlives the commit below and is released explicitly, or
            # by the server when this connection goes (a migrator killed midway).
            await connection.execute(text("SELECT pg_advisory_lock(:key)"),
                                     {"key": MIGRATION_LOCK_KEY})
            await connection.commit()  # Alembic then opens its own transaction
            try:
                await connection.run_sync(_run_migrations)
            finally:
                await connection.rollback()  # whatever a failed upgrade left open
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                         {"key": MIGRATION_LOCK_KEY})
                await connection.commit()
    finally:
        await engine.dispose()


def _run_migrations(connection) -> None:
    from alembic import context

    context.configure(connection=connection,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _run_blocking(coro) -> None:
    """Run ``coro`` to its end from synchronous code, even when this thread already runs
    an event loop (a caller that ran ``migrate`` from async code): then in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(asyncio.run, coro).result()


if __name__ == "__main__":  # migrations_dir url lock_file, once per database
    for at in range(1, len(sys.argv), 3):
        migrate(Path(sys.argv[at]), sys.argv[at + 1], Path(sys.argv[at + 2]))
