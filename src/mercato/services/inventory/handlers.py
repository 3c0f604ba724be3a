"""Inventory commands and queries: load, apply the domain rules, store in one transaction.

``Inventory`` is what the API, the checkout reactions and the sweeper call. It holds the
stock queries and adjustments itself and hands the reservation lifecycle to
reservations.py; every command's domain errors become problems here, in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from mercato.chassis import Problem
from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.data.db import Connection
from mercato.chassis.messaging import Outbox
from mercato.contracts.catalog import ProductCreated
from mercato.contracts.envelope import Envelope
from mercato.contracts.inventory import StockAdjusted
from mercato.services.inventory.catalog_client import CatalogUnavailable, ProductCatalog
from mercato.services.inventory.domain import (
    RESERVATION_TTL,
    AlreadyCancelled,
    InvalidRequest,
    OutOfStock,
    RequestMismatch,
    Reservation,
    ReservationConflict,
    Stock,
    StockInvariantBroken,
    WouldGoNegative,
    check_adjustment,
    fingerprint,
)
from mercato.services.inventory.events import event_id
from mercato.services.inventory.reservations import Reservations
from mercato.services.inventory.store import InventoryTx, SqlInventoryStore, StoredAdjustment


@dataclass
class Inventory:
    """The inventory's handlers, with their dependencies."""

    store: SqlInventoryStore
    catalog: ProductCatalog
    clock: Clock
    new_id: IdFactory
    outbox: Outbox
    reservation_ttl: timedelta = RESERVATION_TTL

    async def get_stock(self, product_id: str) -> Stock:
        stock = await self.store.get_stock(product_id)
        if stock is None:
            raise Problem(404, f"product {product_id} has no stock record")
        return stock

    async def adjust_stock(self, product_id: str, delta: int, reason: str, *, actor: str,
                           idempotency_key: str | None = None) -> Stock:
        with _problems():
            check_adjustment(delta, reason)
            digest = fingerprint({"product_id": product_id, "delta": delta, "reason": reason})
            if idempotency_key:
                stored = await self.store.find_adjustment(idempotency_key)
                if stored:
                    return _replayed(stored, digest)
            # A product heard of through ProductCreated has its record already; the
            # catalog is asked only about products created before inventory listened.
            is_new = await self.store.get_stock(product_id) is None
            if is_new:
                await self._require_product(product_id)
            at = iso(self.clock())
            async with self.store.transaction() as tx:
                if idempotency_key and (stored := await tx.adjustment(idempotency_key)):
                    return _replayed(stored, digest)
                if is_new:
                    await tx.create_stock(product_id, at)
                if not await tx.adjust(product_id, delta, at):
                    current = await tx.stock(product_id)
                    if current is None:
                        raise StockInvariantBroken(f"stock of {product_id} vanished")
                    current.adjusted(delta)  # raises WouldGoNegative with the amounts
                    raise StockInvariantBroken(f"adjustment of {product_id} refused unexpectedly")
                result = await tx.stock(product_id)
                assert result is not None
                adjustment_id = self.new_id()
                await tx.record_adjustment(
                    adjustment_id=adjustment_id, product_id=product_id, delta=delta,
                    reason=reason, actor=actor, key=idempotency_key, fingerprint=digest,
                    result=result, at=at)
                await self.outbox.add(tx.connection, StockAdjusted(
                    product_id=product_id, delta=delta, on_hand=result.on_hand,
                    available=result.available, reason=reason),
                    event_id=event_id(adjustment_id, "adjusted"))
            return result

    async def _require_product(self, product_id: str) -> None:
        try:
            known = await self.catalog.exists(product_id)
        except CatalogUnavailable as exc:
            raise Problem(503, f"cannot check product {product_id}: {exc}",
                          kind="catalog-unavailable", headers={"Retry-After": "1"}) from exc
        if not known:
            raise Problem(404, f"product {product_id} is not in the catalog")

    async def on_product_created(self, tx: Connection, envelope: Envelope,
                                 event: ProductCreated) -> None:
        """A new product has a stock record of zeros from the start."""
        await InventoryTx(tx).create_stock(event.product_id, iso(self.clock()))

    # The reservation lifecycle lives in reservations.py; these are its public face, with
    # domain errors mapped to problems exactly as the stock handlers above map theirs.
    def _reservations(self) -> Reservations:
        # Built per call from the fields, so it always sees this Inventory's dependencies.
        return Reservations(self.store, self.clock, self.outbox, self.reservation_ttl)

    async def reserve(self, reservation_id: str, order_id: str,
                      items: Iterable[tuple[str, int]]) -> tuple[dict, bool]:
        """All items or none. Returns the answer and whether this call created it."""
        with _problems():
            return await self._reservations().reserve(reservation_id, order_id, items)

    async def commit(self, reservation_id: str) -> Reservation:
        """reserved -> sold, or 409 ``reservation-expired`` past its deadline."""
        with _problems():
            return await self._reservations().commit(reservation_id)

    async def return_goods(self, reservation_id: str) -> Reservation:
        """sold -> available, when a confirmed order is cancelled."""
        with _problems():
            return await self._reservations().return_goods(reservation_id)

    async def release(self, reservation_id: str) -> Reservation:
        with _problems():
            return await self._reservations().release(reservation_id)

    async def expire_due(self, now: datetime | None = None, limit: int = 100
                         ) -> list[Reservation]:
        """Expire up to ``limit`` reservations held past their deadline (see
        ``Reservations.expire_due``); a bug in one is logged, not raised."""
        return await self._reservations().expire_due(now, limit)


def _replayed(stored: StoredAdjustment, digest: str) -> Stock:
    if stored.fingerprint != digest:
        raise RequestMismatch("this Idempotency-Key was already used with another request")
    return stored.result


@contextmanager
def _problems() -> Iterator[None]:
    """Domain errors as the problems a client sees."""
    try:
        yield
    except InvalidRequest as exc:
        raise Problem(422, str(exc), kind="invalid-request") from exc
    except RequestMismatch as exc:
        raise Problem(422, str(exc), kind="idempotency-mismatch") from exc
    except WouldGoNegative as exc:
        raise Problem(409, str(exc), kind="insufficient-stock", product_id=exc.product_id,
                      delta=exc.delta, available=exc.available) from exc
    except OutOfStock as exc:
        raise Problem(409, str(exc), kind="out-of-stock", product_ids=exc.product_ids) from exc
    except AlreadyCancelled as exc:
        raise Problem(409, str(exc), kind="already-cancelled") from exc
    except ReservationConflict as exc:
        raise Problem(409, str(exc), kind=exc.kind) from exc
