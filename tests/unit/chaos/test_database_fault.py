"""F9's pieces without a platform: the ballast fills a small filesystem to ENOSPC (a
tmpfs mounted here, as the chaos platform does; root is needed and this machine's tests
run as root), the stall holds the write lock others meet, and the own check sees the file
whole and writable afterwards."""

from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3

import pytest

from mercato.chaos.faults.base import Target
from mercato.chaos.faults.database import (
    BALLAST,
    VICTIMS,
    DatabaseRefuses,
    mount_disks,
    unmount_disks,
)


def target(tmp_path) -> Target:
    return Target(tmp_path, random.Random(1), 3.0)


def make_db(folder, name: str) -> None:
    with sqlite3.connect(folder / f"{name}.db") as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x INTEGER)")


def test_a_full_disk_is_filled_to_the_last_byte_and_emptied_at_heal(tmp_path):
    assert mount_disks(tmp_path) == []
    try:
        assert all((tmp_path / s).is_mount() for s in VICTIMS)
        make_db(tmp_path / "cart", "cart")
        fault = DatabaseRefuses("cart", "full")
        assert "ballast" in asyncio.run(fault.inject(target(tmp_path)))
        assert shutil.disk_usage(tmp_path / "cart").free == 0
        asyncio.run(fault.heal(target(tmp_path)))
        assert not (tmp_path / "cart" / BALLAST).exists()
        [check] = asyncio.run(fault.checks(target(tmp_path)))
        assert check.ok, check
    finally:
        unmount_disks(tmp_path)
    assert not any((tmp_path / s).is_mount() for s in VICTIMS)


def test_the_full_variant_refuses_by_name_where_no_filesystem_was_mounted(tmp_path):
    (tmp_path / "cart").mkdir()
    fault = DatabaseRefuses("cart", "full")
    with pytest.raises(RuntimeError, match="filesystem of its own"):
        asyncio.run(fault.inject(target(tmp_path)))


def test_the_stall_holds_the_write_lock_until_healed(tmp_path):
    (tmp_path / "orders").mkdir()
    make_db(tmp_path / "orders", "orders")
    fault = DatabaseRefuses("orders", "stall")
    assert asyncio.run(fault.inject(target(tmp_path))) == "orders.db write-locked"
    other = sqlite3.connect(tmp_path / "orders" / "orders.db", timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)  # reads go on
        asyncio.run(fault.heal(target(tmp_path)))
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
