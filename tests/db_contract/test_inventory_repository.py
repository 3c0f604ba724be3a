"""The inventory's repository ports (services/inventory/ports.py), held to one behaviour on
every implementation: the SQL adapters on SQLite and on PostgreSQL, and the in-memory fakes
the handlers' unit tests run on (tests/support/memory/inventory.py). At the heart: no
write ever leaves a stock figure negative; it is refused and changes nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mercato.chassis.data import Conflict
from mercato.services.inventory.domain import Line, Reservation, Status, Stock
from mercato.services.inventory.store import SqlReservationRepository, SqlStockRepository
from tests.support.memory.inventory import MemoryReservationRepository, MemoryStockRepository

SERVICE = "inventory"  # the database the SQL adapter runs on (conftest ``contract_db``)

AT = "2026-12-06T08:00:00+00:00"


@pytest.fixture
def repos(where, contract_db) -> SimpleNamespace:
    """``db``, ``stock`` and ``reservations`` on one database."""
    if where == "memory":
        return SimpleNamespace(db=contract_db, stock=MemoryStockRepository(contract_db),
                               reservations=MemoryReservationRepository(contract_db))
    return SimpleNamespace(db=contract_db, stock=SqlStockRepository(contract_db),
                           reservations=SqlReservationRepository(contract_db))


async def stocked(repos, product_id: str, units: int) -> None:
    async with repos.db.transaction() as tx:
        await repos.stock.create(tx, product_id, AT)
        assert await repos.stock.adjust(tx, product_id, units, AT)


async def figures(repos, product_id: str, tx=None) -> tuple[int, int, int, int]:
    s = await repos.stock.get(product_id, tx)
    assert s is not None
    return (s.on_hand, s.available, s.reserved, s.sold)


def held(rid: str, expires_at: str | None, *lines: Line,
         status: Status = Status.RESERVED, **kw) -> Reservation:
    return Reservation(rid, f"order-{rid}", status, lines, AT, expires_at, **kw)


async def add(repos, *reservations: Reservation) -> None:
    async with repos.db.transaction() as tx:
        for r in reservations:
            await repos.reservations.add(tx, r)


# -- stock ------------------------------------------------------------------------------

async def test_a_product_without_a_record_has_no_stock_and_nothing_changes_it(repos):
    async with repos.db.transaction() as tx:
        assert not await repos.stock.adjust(tx, "tea", 5, AT)
        assert not await repos.stock.move(tx, "return", "tea", 1, AT)
        assert await repos.stock.move_all(tx, "reserve", [Line("tea", 1)], AT) == [
            Line("tea", 1)]
    assert await repos.stock.get("tea") is None


async def test_a_record_is_created_with_zeros_once_and_a_second_create_keeps_it(repos):
    async with repos.db.transaction() as tx:
        await repos.stock.create(tx, "tea", AT)
        assert await repos.stock.get("tea", tx) == Stock("tea", 0, 0, 0, 0)
        assert await repos.stock.adjust(tx, "tea", 7, AT)
        await repos.stock.create(tx, "tea", AT)
    assert await repos.stock.get("tea") == Stock("tea", 7, 7, 0, 0)


async def test_an_adjustment_that_would_leave_available_negative_changes_nothing(repos):
    await stocked(repos, "tea", 5)
    async with repos.db.transaction() as tx:
        assert await repos.stock.move(tx, "reserve", "tea", 3, AT)
        assert not await repos.stock.adjust(tx, "tea", -3, AT)
        assert await repos.stock.get("tea", tx) == Stock("tea", 5, 2, 3, 0)
        assert await repos.stock.adjust(tx, "tea", -2, AT)
    assert await figures(repos, "tea") == (3, 0, 3, 0)


async def test_each_step_moves_units_between_its_figures_only_if_they_are_there(repos):
    await stocked(repos, "tea", 10)
    steps = [("reserve", 11, False, (10, 10, 0, 0)), ("reserve", 4, True, (10, 6, 4, 0)),
             ("commit", 5, False, (10, 6, 4, 0)), ("commit", 3, True, (10, 6, 1, 3)),
             ("release", 2, False, (10, 6, 1, 3)), ("release", 1, True, (10, 7, 0, 3)),
             ("return", 4, False, (10, 7, 0, 3)), ("return", 3, True, (10, 10, 0, 0))]
    for step, quantity, moved, after in steps:
        async with repos.db.transaction() as tx:
            assert await repos.stock.move(tx, step, "tea", quantity, AT) is moved, step
        assert await figures(repos, "tea") == after, (step, quantity)


async def test_move_all_moves_every_line_or_none_and_names_each_short_one(repos):
    await stocked(repos, "tea", 5)
    await stocked(repos, "mug", 1)
    async with repos.db.transaction() as tx:
        assert await repos.stock.move(tx, "reserve", "tea", 1, AT)  # before: kept
        short = await repos.stock.move_all(
            tx, "reserve", [Line("tea", 3), Line("book", 1), Line("mug", 2)], AT)
        assert short == [Line("book", 1), Line("mug", 2)]
        await repos.stock.create(tx, "book", AT)  # the transaction goes on
    assert await figures(repos, "tea") == (5, 4, 1, 0)
    assert await figures(repos, "mug") == (1, 1, 0, 0)
    assert await figures(repos, "book") == (0, 0, 0, 0)
    async with repos.db.transaction() as tx:
        assert await repos.stock.move_all(
            tx, "reserve", [Line("tea", 4), Line("mug", 1)], AT) == []
    assert (await figures(repos, "tea"), await figures(repos, "mug")) == (
        (5, 0, 5, 0), (1, 0, 1, 0))


async def test_levels_list_every_product_by_id_and_units_reserved_add_them_up(repos):
    assert await repos.stock.units_reserved() == 0
    for product, units in [("mug", 4), ("book", 2), ("tea", 6)]:
        await stocked(repos, product, units)
    async with repos.db.transaction() as tx:
        await repos.stock.lock(tx, ["tea", "mug", "tea"])
        assert await repos.stock.move(tx, "reserve", "mug", 3, AT)
        assert await repos.stock.move(tx, "reserve", "tea", 2, AT)
        assert await repos.stock.move(tx, "commit", "tea", 1, AT)
    async with repos.db.transaction() as tx:
        levels = await repos.stock.levels(tx)
    assert [dict(row) for row in levels] == [
        {"product_id": "book", "on_hand": 2, "available": 2, "reserved": 0, "sold": 0},
        {"product_id": "mug", "on_hand": 4, "available": 1, "reserved": 3, "sold": 0},
        {"product_id": "tea", "on_hand": 6, "available": 4, "reserved": 1, "sold": 1}]
    assert await repos.stock.units_reserved() == 4


async def test_an_adjustment_is_found_by_its_key_and_an_id_or_key_used_again_conflicts(
        repos):
    result = Stock("tea", 3, 3, 0, 0)

    async def record(adjustment_id: str, key: str | None) -> None:
        async with repos.db.transaction() as tx:
            await repos.stock.record_adjustment(
                tx, adjustment_id=adjustment_id, product_id="tea", delta=3, reason="count",
                actor="admin", key=key, fingerprint=f"fp-{adjustment_id}", result=result,
                at=AT)

    await record("a1", "k1")
    await record("a2", None)
    await record("a3", None)  # many adjustments without a key
    for adjustment_id, key in [("a4", "k1"), ("a2", "k2")]:
        with pytest.raises(Conflict):
            await record(adjustment_id, key)
    found = await repos.stock.find_adjustment("k1")
    assert (found.fingerprint, found.result) == ("fp-a1", result)
    assert await repos.stock.find_adjustment("k2") is None


# -- reservations -----------------------------------------------------------------------

async def test_a_reservation_comes_back_as_stored_with_its_lines_in_order(repos):
    kept = [held("r1", "2026-12-06T08:15:00Z", Line("tea", 2), Line("mug", 1)),
            held("r2", None, Line("mug", 9), status=Status.REJECTED,
                 refusal={"detail": "not enough stock", "product_ids": ["mug"]}),
            Reservation("r3", None, Status.RELEASED, (), AT, None, tombstone=True)]
    await add(repos, *kept)
    assert [await repos.reservations.get(r.reservation_id) for r in kept] == kept
    assert await repos.reservations.get("r4") is None


async def test_a_reservation_id_stored_twice_conflicts_and_the_first_stays(repos):
    first = held("r1", None, Line("tea", 2))
    await add(repos, first)
    with pytest.raises(Conflict):
        await add(repos, held("r1", None, Line("mug", 1)))
    assert await repos.reservations.get("r1") == first


async def test_due_lists_held_reservations_before_the_bound_oldest_first_up_to_a_limit(
        repos):
    await add(repos, held("r-a", "2026-12-06T08:20:00Z", Line("tea", 1)),
              held("r-c", "2026-12-06T08:10:00Z", Line("tea", 1)),
              held("r-b", "2026-12-06T08:10:00Z", Line("tea", 1)),
              held("r-d", "2026-12-06T08:00:00Z", Line("tea", 1), status=Status.COMMITTED),
              held("r-e", None, Line("tea", 1), status=Status.REJECTED),
              held("r-f", "2026-12-06T08:30:00Z", Line("tea", 1)))
    bound = "2026-12-06T08:30:00Z"  # strictly before it
    assert await repos.reservations.due(bound, 10) == ["r-b", "r-c", "r-a"]
    assert await repos.reservations.due(bound, 2) == ["r-b", "r-c"]
    assert await repos.reservations.held() == 4


async def test_a_status_set_changes_what_is_held_due_and_listed(repos):
    await add(repos, held("r2", "2026-12-06T08:10:00Z", Line("tea", 1)),
              held("r1", "2026-12-06T08:10:00Z", Line("mug", 2), Line("tea", 1)),
              Reservation("r0", None, Status.RELEASED, (), AT, None, tombstone=True))
    async with repos.db.transaction() as tx:
        await repos.reservations.set_status(tx, "r2", Status.EXPIRED, AT)
        await repos.reservations.set_status(tx, "nobody", Status.EXPIRED, AT)
    assert (await repos.reservations.get("r2")).status == Status.EXPIRED
    assert await repos.reservations.held() == 1
    assert await repos.reservations.due("2026-12-06T09:00:00Z", 10) == ["r1"]
    async with repos.db.transaction() as tx:
        listed = await repos.reservations.listed(tx)
    assert listed == [
        {"reservation_id": "r1", "order_id": "order-r1", "status": "reserved",
         "items": [{"product_id": "mug", "quantity": 2}, {"product_id": "tea", "quantity": 1}]},
        {"reservation_id": "r2", "order_id": "order-r2", "status": "expired",
         "items": [{"product_id": "tea", "quantity": 1}]}]


async def test_a_transaction_that_fails_leaves_nothing_behind(repos):
    await stocked(repos, "tea", 5)
    with pytest.raises(RuntimeError):
        async with repos.db.transaction() as tx:
            assert await repos.stock.move_all(tx, "reserve", [Line("tea", 2)], AT) == []
            await repos.stock.create(tx, "mug", AT)
            await repos.stock.record_adjustment(
                tx, adjustment_id="a1", product_id="tea", delta=1, reason="r", actor="a",
                key="k1", fingerprint="fp", result=Stock("tea", 6, 6, 0, 0), at=AT)
            await repos.reservations.add(tx, held("r1", None, Line("tea", 2)))
            assert await figures(repos, "tea", tx) == (5, 3, 2, 0)  # seen inside
            raise RuntimeError("the handler refused after writing")
    assert await figures(repos, "tea") == (5, 5, 0, 0)
    assert await repos.stock.get("mug") is None
    assert await repos.stock.find_adjustment("k1") is None
    assert await repos.reservations.get("r1") is None

