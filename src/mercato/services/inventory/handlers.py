"""Inventory commands and queries: load, apply the domain rules, store in one transaction.

``Inventory`` is what the API, the checkout reactions and the sweeper call. It holds the
stock queries and adjustments itself and hands the reservation lifecycle to
reservations.py. Commands raise domain errors (domain.py, and the shared ``NotFound`` and
``DependencyUnavailable``); errors.py says what each answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.data import Connection, Database
from mercato.chassis.errors import DependencyUnavailable, NotFound
from mercato.chassis.messaging import Outbox
from mercato.contracts.catalog import ProductCreated
from mercato.contracts.envelope import Envelope
from mercato.contracts.inventory import StockAdjusted
from mercato.services.inventory.domain import (
    RESERVATION_TTL,
    RequestMismatch,
    Reservation,
    Stock,
    StockInvariantBroken,
    check_adjustment,
    fingerprint,
)
from mercato.services.inventory.events import event_id
from mercato.services.inventory.ports import (
    CatalogUnavailable,
    ProductCatalog,
    ReservationRepository,
    StockRepository,
    StoredAdjustment,
)
from mercato.services.inventory.reservations import Reservations


@dataclass
class Inventory:
    """The inventory's handlers, with their dependencies."""

    db: Database
    stock: StockRepository
    reservations: ReservationRepository
    catalog: ProductCatalog
    clock: Clock
    new_id: IdFactory
    outbox: Outbox
    reservation_ttl: timedelta = RESERVATION_TTL

    async def facts(self) -> dict:
        """What ``mercato verify`` reads of the inventory: stock per product and every
        reservation with its items, in one transaction so the two agree."""
        async with self.db.transaction() as tx:
            return {"products": await self.stock.levels(tx),
                    "reservations": await self.reservations.listed(tx)}

    async def get_stock(self, product_id: str) -> Stock:
        found = await self.stock.get(product_id)
        if found is None:
            raise NotFound(f"product {product_id} has no stock record")
        return found

    async def adjust_stock(self, product_id: str, delta: int, reason: str, *, actor: str,
                           idempotency_key: str | None = None) -> Stock:
        check_adjustment(delta, reason)
        digest = fingerprint({"product_id": product_id, "delta": delta, "reason": reason})
        if idempotency_key:
            stored = await self.stock.find_adjustment(idempotency_key)
            if stored:
                return _replayed(stored, digest)
        # A product heard of through ProductCreated has its record already; the
        # catalog is asked only about products created before inventory listened.
        is_new = await self.stock.get(product_id) is None
        if is_new:
            await self._require_product(product_id)
        at = iso(self.clock())
        async with self.db.transaction() as tx:
            # The key's lookup decides the write (the ledger's key is unique); the
            # adjustment itself is a conditional UPDATE and needs no lock of its own.
            if idempotency_key:
                await tx.lock(f"adjustment:{idempotency_key}")
                if stored := await self.stock.find_adjustment(idempotency_key, tx):
                    return _replayed(stored, digest)
            if is_new:
                await self.stock.create(tx, product_id, at)
            if not await self.stock.adjust(tx, product_id, delta, at):
                current = await self.stock.get(product_id, tx)
                if current is None:
                    raise StockInvariantBroken(f"stock of {product_id} vanished")
                current.adjusted(delta)  # raises WouldGoNegative with the amounts
                raise StockInvariantBroken(f"adjustment of {product_id} refused unexpectedly")
            result = await self.stock.get(product_id, tx)
            assert result is not None
            adjustment_id = self.new_id()
            await self.stock.record_adjustment(
                tx, adjustment_id=adjustment_id, product_id=product_id, delta=delta,
                reason=reason, actor=actor, key=idempotency_key, fingerprint=digest,
                result=result, at=at)
            await self.outbox.add(tx, StockAdjusted(
                product_id=product_id, delta=delta, on_hand=result.on_hand,
                available=result.available, reason=reason),
                event_id=event_id(adjustment_id, "adjusted"))
        return result

    async def _require_product(self, product_id: str) -> None:
        try:
            known = await self.catalog.exists(product_id)
        except CatalogUnavailable as exc:
            raise DependencyUnavailable(f"cannot check product {product_id}: {exc}",
                                        kind="catalog-unavailable", retry_after=1) from exc
        if not known:
            raise NotFound(f"product {product_id} is not in the catalog")

    async def on_product_created(self, tx: Connection, envelope: Envelope,
                                 event: ProductCreated) -> None:
        """A new product has a stock record of zeros from the start."""
        await self.stock.create(tx, event.product_id, iso(self.clock()))

    # The reservation lifecycle lives in reservations.py; these are its public face.
    def _lifecycle(self) -> Reservations:
        # Built per call from the fields, so it always sees this Inventory's dependencies.
        return Reservations(self.db, self.stock, self.reservations, self.clock, self.outbox,
                            self.reservation_ttl)

    async def reserve(self, reservation_id: str, order_id: str,
                      items: Iterable[tuple[str, int]]) -> tuple[dict, bool]:
        """All items or none. Returns the answer and whether this call created it."""
        return await self._lifecycle().reserve(reservation_id, order_id, items)

    async def commit(self, reservation_id: str) -> Reservation:
        """reserved -> sold, or 409 ``reservation-expired`` past its deadline."""
        return await self._lifecycle().commit(reservation_id)

    async def return_goods(self, reservation_id: str) -> Reservation:
        """sold -> available, when a confirmed order is cancelled."""
        return await self._lifecycle().return_goods(reservation_id)

    async def release(self, reservation_id: str) -> Reservation:
        return await self._lifecycle().release(reservation_id)

    async def expire_due(self, now: datetime | None = None, limit: int = 100
                         ) -> list[Reservation]:
        """Expire up to ``limit`` reservations held past their deadline (see
        ``Reservations.expire_due``); a bug in one is logged, not raised."""
        return await self._lifecycle().expire_due(now, limit)


def _replayed(stored: StoredAdjustment, digest: str) -> Stock:
    if stored.fingerprint != digest:
        raise RequestMismatch("this Idempotency-Key was already used with another request")
    return stored.result

