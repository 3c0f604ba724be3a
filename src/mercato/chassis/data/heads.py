"""Whether a SQLite database is already at head, known without Alembic.

Every start of a service used to spawn a migration child (``migrate_in_child``), about a
CPU-second of Python start-up and imports, even when the database was at head: the case of
every start but the first. Alembic answers "what is head?" only by loading the migration
scripts (Alembic and SQLAlchemy imported, each script executed). So the migrator records its
answer: after an upgrade it writes ``.migrated.json`` next to the migration lock, holding the
heads it reached and a fingerprint of the ``versions/`` scripts (names and contents). A later
start compares that fingerprint with the scripts it has now and the heads with the
database's own ``alembic_version`` rows (``sqlite3``, one SELECT); only when both match is
the child skipped. Anything else (no record, other scripts, a database missing, replaced or
behind, an unreadable file) means "not known to be at head": the child runs as before.

The record only caches what Alembic would compute from the scripts; the database's version
is read every time, so a restored or deleted database is never taken for migrated.
PostgreSQL databases always go through the child (its advisory lock orders replicas on any
machine). Standard library only: the services import this at start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from pathlib import Path

RECORD = ".migrated.json"


def record_path(lock_file: Path) -> Path:
    """Where the migrator of the database locked by ``lock_file`` records its heads."""
    return lock_file.with_name(RECORD)


def scripts_fingerprint(migrations_dir: Path) -> str:
    """A digest of the history's scripts (``versions/*.py``, names and contents): the heads
    are a function of it."""
    digest = hashlib.sha256()
    for script in sorted((migrations_dir / "versions").glob("*.py")):
        digest.update(script.name.encode() + b"\0" + script.read_bytes() + b"\0")
    return digest.hexdigest()


def record_heads(lock_file: Path, migrations_dir: Path, heads: list[str]) -> None:
    """After an upgrade to ``heads``: write the record (atomically: replicas may read it)."""
    path = record_path(lock_file)
    tmp = path.with_name(f"{RECORD}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"scripts": scripts_fingerprint(migrations_dir),
                               "heads": sorted(heads)}))
    tmp.replace(path)


def database_versions(db_path: Path) -> list[str] | None:
    """The revisions in the SQLite file's ``alembic_version`` table; None when the file does
    not exist (it is not created) or cannot be read."""
    if not db_path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(db_path, timeout=5)) as db:
            return sorted(row[0] for row in db.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.Error:
        return None


def at_head(migrations_dir: Path, db_path: Path, lock_file: Path) -> bool:
    """Whether the SQLite database at ``db_path`` is known to be at the head of
    ``migrations_dir``'s history (see the module's docstring); False when in doubt."""
    try:
        record = json.loads(record_path(lock_file).read_text())
        scripts, heads = record["scripts"], record["heads"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not heads or scripts != scripts_fingerprint(migrations_dir):
        return False
    return database_versions(db_path) == sorted(heads)
