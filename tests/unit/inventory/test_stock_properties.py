"""Property: any sequence of adjust/reserve/commit/release/return keeps stock conserved and agrees
with a plain model of the rules (on the in-memory repositories, which the contract test
holds to the SQL adapters' behaviour)."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.chassis.clock import new_id
from mercato.chassis.errors import DomainError
from tests.support.clock import ManualClock
from tests.unit.inventory.conftest import NOW, FakeCatalog, answer, in_memory

PRODUCTS = 3
RESERVATIONS = 4

adjust = st.tuples(st.just("adjust"), st.integers(0, PRODUCTS - 1),
                   st.integers(-6, 8).filter(bool))
reserve = st.tuples(st.just("reserve"), st.integers(0, RESERVATIONS - 1),
                    st.lists(st.tuples(st.integers(0, PRODUCTS - 1), st.integers(1, 4)),
                             min_size=1, max_size=3))
settle = st.tuples(st.sampled_from(["commit", "release", "return_goods"]),
                   st.integers(0, RESERVATIONS - 1))
operations = st.lists(st.one_of(adjust, reserve, settle), max_size=30)


class Model:
    """The rules, written the simplest way: what each operation should do."""

    def __init__(self) -> None:
        self.stock: dict[int, list[int]] = {}  # product -> [available, reserved, sold]
        self.reservations: dict[int, tuple[str, dict[int, int]]] = {}

    def adjust(self, p: int, delta: int) -> bool:
        levels = self.stock.get(p, [0, 0, 0])
        if levels[0] + delta < 0:
            return False
        levels[0] += delta
        self.stock[p] = levels
        return True

    def reserve(self, r: int, items: list[tuple[int, int]]) -> bool:
        wanted: dict[int, int] = {}
        for p, q in items:
            wanted[p] = wanted.get(p, 0) + q
        if r in self.reservations:  # a replay: the first result, if it is the same request
            status, first = self.reservations[r]
            return status in ("reserved", "committed", "returned") and first == wanted
        ok = all(p in self.stock and self.stock[p][0] >= q for p, q in wanted.items())
        if ok:
            for p, q in wanted.items():
                self.stock[p][0] -= q
                self.stock[p][1] += q
        self.reservations[r] = ("reserved" if ok else "rejected", wanted)
        return ok

    def settle(self, step: str, r: int) -> bool:
        status, wanted = self.reservations.get(r, ("unknown", {}))
        if step == "commit":
            if status in ("committed", "returned"):
                return True
            return status == "reserved" and self._move(r, wanted, 1, 2, "committed")
        if step == "release":
            if status in ("unknown", "rejected", "released"):
                self.reservations[r] = ("released", wanted)
                return True
            return status == "reserved" and self._move(r, wanted, 1, 0, "released")
        if status == "returned":
            return True
        return status == "committed" and self._move(r, wanted, 2, 0, "returned")

    def _move(self, r: int, wanted: dict[int, int], source: int, target: int,
              status: str) -> bool:
        for p, q in wanted.items():
            self.stock[p][source] -= q
            self.stock[p][target] += q
        self.reservations[r] = (status, wanted)
        return True


async def run(ops) -> None:
    products = [str(uuid.uuid4()) for _ in range(PRODUCTS)]
    handlers = in_memory(FakeCatalog(set(products)), ManualClock(NOW), new_id)
    run_id = uuid.uuid4().hex
    model = Model()
    for op in ops:
        if op[0] == "adjust":
            call = handlers.adjust_stock(products[op[1]], op[2], "test", actor="a")
            expected = model.adjust(op[1], op[2])
        elif op[0] == "reserve":
            call = handlers.reserve(f"{run_id}-{op[1]}", "o",
                                    [(products[p], q) for p, q in op[2]])
            expected = model.reserve(op[1], op[2])
        else:
            call = getattr(handlers, op[0])(f"{run_id}-{op[1]}")
            expected = model.settle(op[0], op[1])
        assert await succeeded(call) == expected, op
        for p, (available, reserved, sold) in model.stock.items():
            stock = await handlers.stock.get(products[p])
            assert stock is not None
            assert (stock.available, stock.reserved, stock.sold) == (available, reserved,
                                                                     sold)
            assert stock.on_hand == available + reserved + sold


async def succeeded(call) -> bool:
    try:
        await call
    except DomainError as exc:
        assert answer(exc).status in (404, 409, 422), str(exc)
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_any_sequence_of_stock_operations_keeps_stock_conserved(ops):
    asyncio.run(run(ops))
