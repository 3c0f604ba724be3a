"""How many units of one product one customer may hold: a business-flow limit (OWASP API6),
so that one account cannot buy, or hold in pending checkouts, a product's whole stock in a
loop while every request of it looks ordinary.

The rule counts the units of the product in the customer's orders placed in the last
``window`` (24 hours, rolling) that are not cancelled — pending ones included, since a
pending order holds its stock as surely as a confirmed one — plus the new order's, summed
over its lines (the same product may be on several). Past ``limit`` the order is refused
as a whole, naming the first product over it and when enough of it frees up: the moment
the oldest counted orders leave the window. Waiting is the only way besides cancelling,
so the refusal is no transient condition to retry shortly (docs/checkout.md §9).

Pure: the store hands in what it counted, the clock's time comes from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mercato.services.orders.domain.events import Line
from mercato.services.orders.domain.order import OrderError

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Held:
    """Units of one product in one of the customer's counted orders, and when it was placed."""

    product_id: str
    units: int
    placed_at: datetime


class UnitsLimitExceeded(OrderError):
    """The order would take the customer past the units of ``product_id`` one customer may
    hold in ``window``. ``frees_at``: when enough of the held units leave the window for
    this order to fit (None when the order alone asks for more than the limit)."""

    def __init__(self, product_id: str, limit: int, held: int, requested: int,
                 frees_at: datetime | None, window: timedelta) -> None:
        self.product_id, self.limit, self.held = product_id, limit, held
        self.requested, self.frees_at, self.window = requested, frees_at, window
        hours = f"{window.total_seconds() / 3600:g} hours"
        if frees_at is None:
            why = f"this order alone asks for {requested}"
        else:
            why = (f"you hold {held} in orders of the last {hours} and this order asks for "
                   f"{requested}; {max(0, limit - held)} more can be ordered now")
        super().__init__(f"at most {limit} units of product {product_id} per customer in "
                         f"{hours}: {why}")

    @property
    def available(self) -> int:
        """Units of the product this customer could order now."""
        return max(0, self.limit - self.held)


@dataclass(frozen=True)
class UnitsLimit:
    """At most ``limit`` units of a product per customer in any ``window``; 0: no limit."""

    limit: int
    window: timedelta = DAY

    @property
    def active(self) -> bool:
        return self.limit > 0

    def since(self, now: datetime) -> datetime:
        """The oldest placement time that still counts at ``now``."""
        return now - self.window

    def check(self, lines: Iterable[Line], held: Iterable[Held], now: datetime) -> None:
        """Raise ``UnitsLimitExceeded`` for the first product of ``lines`` (in their order)
        that ``held`` (the customer's counted orders; older ones are ignored) and the
        order together take past the limit."""
        if not self.active:
            return
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
        since = self.since(now)
        holdings: dict[str, list[Held]] = {}
        for h in held:
            if h.product_id in wanted and h.placed_at > since:
                holdings.setdefault(h.product_id, []).append(h)
        for product_id, requested in wanted.items():
            mine = sorted(holdings.get(product_id, []), key=lambda h: h.placed_at)
            total = sum(h.units for h in mine)
            if total + requested > self.limit:
                raise UnitsLimitExceeded(product_id, self.limit, total, requested,
                                         self._frees_at(mine, total, requested), self.window)

    def _frees_at(self, mine: list[Held], total: int, requested: int) -> datetime | None:
        """When the oldest of ``mine`` have left the window enough for ``requested``."""
        if requested > self.limit:
            return None
        for h in mine:
            total -= h.units
            if total + requested <= self.limit:
                return h.placed_at + self.window
        return None  # unreachable: with nothing held the order fits
