"""Stock is never oversold, however many reservations race for it: on the SQL repositories
(one handle, and several connections to one file), where the conditional UPDATEs hold."""

from __future__ import annotations

import asyncio
import threading

from mercato.chassis.data.db import SqliteDatabase
from mercato.chassis.errors import DomainError
from mercato.chassis.messaging import Outbox
from tests.support.clock import ManualClock
from tests.support.ids import sequential_ids
from tests.unit.inventory.conftest import (
    KNOWN,
    NOW,
    OTHER,
    FakeCatalog,
    answer,
    assert_stock_conserved,
    inventory_over,
)


async def outcome(call) -> str:
    try:
        await call
    except DomainError as exc:
        return answer(exc).kind or ""
    return "reserved"


async def test_fifty_concurrent_reservations_of_one_unit_against_ten_give_exactly_ten(
        sql_inventory):
    inventory = sql_inventory
    await inventory.adjust_stock(KNOWN, 10, "initial", actor="a")
    results = await asyncio.gather(*[
        outcome(inventory.reserve(f"r{n}", f"o{n}", [(KNOWN, 1)])) for n in range(50)])
    assert results.count("reserved") == 10
    assert results.count("out-of-stock") == 40
    stock = await inventory.get_stock(KNOWN)
    assert (stock.on_hand, stock.available, stock.reserved, stock.sold) == (10, 0, 10, 0)
    await assert_stock_conserved(inventory)


async def test_concurrent_commits_releases_and_adjustments_keep_stock_conserved(
        sql_inventory):
    inventory = sql_inventory
    await inventory.adjust_stock(KNOWN, 20, "initial", actor="a")
    await inventory.adjust_stock(OTHER, 20, "initial", actor="a")
    for n in range(10):
        await inventory.reserve(f"r{n}", f"o{n}", [(KNOWN, 2), (OTHER, 1)])
    calls = []
    for n in range(10):
        calls.append(inventory.commit(f"r{n}") if n % 2 else inventory.release(f"r{n}"))
        calls.append(inventory.release(f"r{n}") if n % 2 else inventory.commit(f"r{n}"))
        calls.append(inventory.adjust_stock(KNOWN, -3, "shrinkage", actor="a"))
    await asyncio.gather(*[outcome(c) for c in calls])
    await assert_stock_conserved(inventory)
    known = await inventory.get_stock(KNOWN)
    assert known.reserved == 0 and known.sold % 2 == 0
    assert known.sold + (await inventory.get_stock(OTHER)).available * 2 == 40


def test_reservations_racing_from_separate_connections_never_oversell(tmp_path, service_db_for):
    """Several instances of the service share one database file: BEGIN IMMEDIATE plus the
    conditional UPDATE must hold across connections, not only inside one process."""
    db_path = asyncio.run(_stock_one_product(service_db_for))
    outcomes: list[str] = []
    lock = threading.Lock()

    def instance(number: int) -> None:
        async def run() -> list[str]:
            db = SqliteDatabase(db_path, busy_timeout_ms=20_000)
            handlers = inventory_over(db, FakeCatalog(set()), ManualClock(NOW),
                                 sequential_ids(), Outbox(db, "inventory"))
            try:
                return [await outcome(handlers.reserve(f"i{number}-r{n}", "o", [(KNOWN, 1)]))
                        for n in range(15)]
            finally:
                await db.close()

        mine = asyncio.run(run())
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=instance, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 60
    assert outcomes.count("reserved") == 10
    check = SqliteDatabase(db_path)
    row = check._conn.execute(
        "SELECT on_hand, available, reserved, sold FROM stock WHERE product_id = ?", (KNOWN,),
    ).fetchone()
    check._conn.close()
    assert row == {"on_hand": 10, "available": 0, "reserved": 10, "sold": 0}


async def _stock_one_product(service_db_for):
    db = await service_db_for("inventory")
    handlers = inventory_over(db, FakeCatalog({KNOWN}), ManualClock(NOW),
                         sequential_ids(), Outbox(db, "inventory"))
    await handlers.adjust_stock(KNOWN, 10, "initial", actor="a")
    return db.path
