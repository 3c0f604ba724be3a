"""Inventory commands and queries: load, apply the domain rules, store in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mercato.chassis import Problem
from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.data.db import Connection
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.contracts.catalog import ProductCreated
from mercato.contracts.envelope import Envelope
from mercato.contracts.inventory import StockAdjusted
from mercato.services.inventory.catalog_client import CatalogUnavailable, ProductCatalog
from mercato.services.inventory.domain import (
    RESERVATION_TTL,
    Action,
    AlreadyCancelled,
    InvalidRequest,
    Line,
    OutOfStock,
    RequestMismatch,
    Reservation,
    ReservationConflict,
    Status,
    Stock,
    StockInvariantBroken,
    WouldGoNegative,
    check_adjustment,
    commit_action,
    expired,
    fingerprint,
    is_due,
    merge_lines,
    release_action,
    return_action,
)
from mercato.services.inventory.events import event_id, reservation_event
from mercato.services.inventory.store import InventoryTx, SqlInventoryStore, StoredAdjustment

log = get_logger(__name__)


class _Short(Exception):
    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines


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

    async def reserve(self, reservation_id: str, order_id: str,
                      items: Iterable[tuple[str, int]]) -> tuple[dict, bool]:
        """All items or none. Returns the answer and whether this call created it."""
        with _problems():
            lines = merge_lines(items)
            now = self.clock()
            at = iso(now)
            async with self.store.transaction() as tx:
                existing = await tx.reservation(reservation_id)
                if existing:
                    return existing.replay(order_id, lines), False
                try:
                    async with tx.savepoint():
                        short = [li for li in lines
                                 if not await tx.move("reserve", li.product_id, li.quantity, at)]
                        if short:
                            raise _Short(short)
                except _Short as refused:
                    reservation = Reservation(
                        reservation_id, order_id, Status.REJECTED, lines, at, None,
                        refusal=await _refusal(tx, refused.lines))
                else:
                    reservation = Reservation(
                        reservation_id, order_id, Status.RESERVED, lines, at,
                        iso(now + self.reservation_ttl))
                await tx.add_reservation(reservation)
                await self._publish(tx, reservation, reservation.status)
            # Stored before refusing, so the same reservation_id gets the same 409 again.
            return reservation.replay(order_id, lines), True

    async def commit(self, reservation_id: str) -> Reservation:
        """reserved -> sold; too late (past ``expires_at``) it expires instead: the stock
        goes back and the answer is 409 ``reservation-expired``, whether or not the sweeper
        got there first."""
        with _problems():
            now = self.clock()
            at = iso(now)
            async with self.store.transaction() as tx:
                r = await self._existing(tx, reservation_id)
                if is_due(r, now):
                    await self._expire(tx, r, at)
                    r = replace(r, status=Status.EXPIRED)
                elif commit_action(r) == Action.MOVE_STOCK:
                    await _move_all(tx, "commit", r, at)
                    await tx.set_status(reservation_id, Status.COMMITTED, at)
                    await self._publish(tx, r, Status.COMMITTED)
                    r = replace(r, status=Status.COMMITTED)
            if r.status == Status.EXPIRED:  # refused after the expiry is committed
                raise expired(r)
            return r

    async def return_goods(self, reservation_id: str) -> Reservation:
        """sold -> available, when a confirmed order is cancelled; on hand is unchanged."""
        with _problems():
            at = iso(self.clock())
            async with self.store.transaction() as tx:
                r = await self._existing(tx, reservation_id)
                if return_action(r) == Action.MOVE_STOCK:
                    await _move_all(tx, "return", r, at)
                    await tx.set_status(reservation_id, Status.RETURNED, at)
                    await self._publish(tx, r, Status.RETURNED)
            return replace(r, status=Status.RETURNED)

    @staticmethod
    async def _existing(tx: InventoryTx, reservation_id: str) -> Reservation:
        r = await tx.reservation(reservation_id)
        if r is None:
            raise Problem(404, f"reservation {reservation_id} was not found")
        return r

    async def release(self, reservation_id: str) -> Reservation:
        with _problems():
            at = iso(self.clock())
            async with self.store.transaction() as tx:
                r = await tx.reservation(reservation_id)
                if r is None:
                    # A tombstone: a late reserve with this id must not take stock.
                    tomb = Reservation(reservation_id, None, Status.RELEASED, (), at, None,
                                       tombstone=True)
                    await tx.add_reservation(tomb)
                    return tomb
                action = release_action(r)
                if action == Action.MOVE_STOCK:
                    await _move_all(tx, "release", r, at)
                    await self._publish(tx, r, Status.RELEASED)
                if action != Action.NOTHING:
                    await tx.set_status(reservation_id, Status.RELEASED, at)
            if r.status == Status.EXPIRED:
                return r  # released already, by its expiry: the same outcome, said truly
            return replace(r, status=Status.RELEASED)

    async def expire_due(self, now: datetime | None = None, limit: int = 100
                         ) -> list[Reservation]:
        """Expire up to ``limit`` reservations held past their deadline, oldest first, each
        in its own transaction (stock back to available, status ``expired``, StockReleased
        in the outbox). Safe against a commit or release racing it, and against another
        instance sweeping too: each is checked again inside its transaction."""
        now = now or self.clock()
        at = iso(now)
        # expires_at is ISO text whose fraction of a second is optional, so "before the
        # next whole second" is the bound that sorts right; is_due() decides exactly.
        bound = iso(now.replace(microsecond=0) + timedelta(seconds=1))
        done = []
        for reservation_id in await self.store.due_reservations(bound, limit):
            try:
                async with self.store.transaction() as tx:
                    r = await tx.reservation(reservation_id)
                    if r is None or not is_due(r, now):
                        continue  # committed, released or expired meanwhile; or not yet due
                    await self._expire(tx, r, at)
            except StockInvariantBroken as exc:  # a bug; the others still expire
                log.error("reservation_expiry_failed", reservation_id=reservation_id,
                          error=str(exc))
                continue
            done.append(replace(r, status=Status.EXPIRED))
            log.info("reservation_expired", reservation_id=reservation_id,
                     order_id=r.order_id, expires_at=r.expires_at)
        return done

    async def _expire(self, tx: InventoryTx, r: Reservation, at: str) -> None:
        await _move_all(tx, "release", r, at)
        await tx.set_status(r.reservation_id, Status.EXPIRED, at)
        await self._publish(tx, r, Status.EXPIRED)

    async def on_product_created(self, tx: Connection, envelope: Envelope,
                                 event: ProductCreated) -> None:
        """A new product has a stock record of zeros from the start."""
        await InventoryTx(tx).create_stock(event.product_id, iso(self.clock()))

    async def _publish(self, tx: InventoryTx, r: Reservation, to: Status) -> None:
        """The event of a reservation's stock moving, in the transaction that moves it."""
        eid, event = reservation_event(r, to)
        await self.outbox.add(tx.connection, event, event_id=eid)


async def _move_all(tx: InventoryTx, step: str, r: Reservation, at: str) -> None:
    for line in r.lines:
        if not await tx.move(step, line.product_id, line.quantity, at):
            raise StockInvariantBroken(
                f"{step} of reservation {r.reservation_id}: product {line.product_id} does"
                f" not hold {line.quantity} reserved units")


async def _refusal(tx: InventoryTx, short: list[Line]) -> dict:
    reasons = []
    for line in short:
        stock = await tx.stock(line.product_id)
        if stock is None:
            reasons.append(f"product {line.product_id} has no stock")
        else:
            reasons.append(f"product {line.product_id}: {line.quantity} requested,"
                           f" {stock.available} available")
    return {"detail": "not enough stock: " + "; ".join(reasons),
            "product_ids": [li.product_id for li in short]}


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
