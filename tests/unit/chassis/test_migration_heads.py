"""A SQLite database known to be at head needs no migration child (chassis/data/heads.py):
the migrator records the heads it reached with a fingerprint of the scripts; a start then
skips the child only if the scripts are the same and the database's own version matches.
In every other case it migrates, as before."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from mercato.chassis.data.heads import at_head, database_versions, record_path
from mercato.chassis.data.migrations import migrate, migrate_all_in_child, sqlite_url
from tests.conftest import SERVICES_DIR


@pytest.fixture
def history(tmp_path):
    """A copy of the catalog's history, to add a script to."""
    copy = tmp_path / "migrations"
    shutil.copytree(SERVICES_DIR / "catalog" / "migrations", copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_database_never_migrated_is_not_at_head(tmp_path, history):
    assert not at_head(history, tmp_path / "catalog.db", tmp_path / ".migrate.lock")
    assert not (tmp_path / "catalog.db").exists()  # the check creates no file


def test_after_a_migration_the_database_is_known_to_be_at_head(tmp_path, history):
    db, lock = tmp_path / "catalog.db", tmp_path / ".migrate.lock"
    migrate(history, sqlite_url(db), lock)
    assert record_path(lock).is_file()
    assert at_head(history, db, lock)
    assert database_versions(db) == ["0004"]


def test_a_new_script_means_not_at_head_until_migrated_again(tmp_path, history):
    db, lock = tmp_path / "catalog.db", tmp_path / ".migrate.lock"
    migrate(history, sqlite_url(db), lock)
    (history / "versions" / "0005_extra.py").write_text(
        'from alembic import op\nimport sqlalchemy as sa\n\nrevision = "0005"\n'
        'down_revision = "0004"\n\n\ndef upgrade():\n'
        '    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))\n\n\n'
        'def downgrade():\n    op.drop_table("extra")\n')
    assert not at_head(history, db, lock)
    migrate(history, sqlite_url(db), lock)
    assert at_head(history, db, lock) and database_versions(db) == ["0005"]


def test_a_database_replaced_or_behind_is_not_taken_for_migrated(tmp_path, history):
    db, lock = tmp_path / "catalog.db", tmp_path / ".migrate.lock"
    migrate(history, sqlite_url(db), lock)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")  # a restored backup
    assert not at_head(history, db, lock)
    db.unlink()
    assert not at_head(history, db, lock)
    db.write_bytes(b"not a database")
    assert not at_head(history, db, lock)


def test_an_unreadable_record_means_migrate(tmp_path, history):
    db, lock = tmp_path / "catalog.db", tmp_path / ".migrate.lock"
    migrate(history, sqlite_url(db), lock)
    record_path(lock).write_text("{not json")
    assert not at_head(history, db, lock)


async def test_one_child_migrates_several_databases(tmp_path):
    jobs = [(SERVICES_DIR / service / "migrations", sqlite_url(tmp_path / f"{service}.db"),
             tmp_path / service / ".migrate.lock") for service in ("cart", "loyalty")]
    await migrate_all_in_child(jobs)
    for history, url, lock in jobs:
        assert at_head(history, tmp_path / url.rpartition("/")[2], lock)
