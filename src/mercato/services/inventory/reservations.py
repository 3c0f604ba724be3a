"""The reservation lifecycle: reserve, commit, release, return and expire.

Each step loads the reservation, moves its stock, records its new status and puts its
event in the outbox, all in one transaction. Refusals leave as domain errors (domain.py,
``NotFound``), through ``Inventory`` in handlers.py, the only caller; errors.py says what
each answers.

Locks (a no-op on SQLite, whose one writer serialises these already): each step holds
``reservation:<id>`` from the start, since what it reads of the reservation (there or not,
its status) decides what it writes; then the stock of its products in product id order
(``StockRepository.lock``). Each stock move is a conditional UPDATE that needs no lock to
stay correct; the ordered locks only keep two steps moving the same products in opposite
orders from deadlocking on PostgreSQL's row locks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mercato.chassis import Database
from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection
from mercato.chassis.errors import NotFound
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.services.inventory.domain import (
    RESERVATION_TTL,
    Action,
    Line,
    Reservation,
    Status,
    StockInvariantBroken,
    commit_action,
    expired,
    is_due,
    merge_lines,
    release_action,
    return_action,
)
from mercato.services.inventory.events import reservation_event
from mercato.services.inventory.ports import ReservationRepository, StockRepository

log = get_logger(__name__)

@dataclass
class Reservations:
    """The lifecycle's steps, with the dependencies they share with ``Inventory``."""

    db: Database
    stock: StockRepository
    reservations: ReservationRepository
    clock: Clock
    outbox: Outbox
    reservation_ttl: timedelta = RESERVATION_TTL

    async def reserve(self, reservation_id: str, order_id: str,
                      items: Iterable[tuple[str, int]]) -> tuple[dict, bool]:
        """All items or none. Returns the answer and whether this call created it."""
        lines = merge_lines(items)
        now = self.clock()
        at = iso(now)
        async with self.db.transaction() as tx:
            await tx.lock(f"reservation:{reservation_id}")
            existing = await self.reservations.get(reservation_id, tx)
            if existing:
                return existing.replay(order_id, lines), False
            await self.stock.lock(tx, (li.product_id for li in lines))
            short = await self.stock.move_all(tx, "reserve", lines, at)
            if short:
                reservation = Reservation(
                    reservation_id, order_id, Status.REJECTED, lines, at, None,
                    refusal=await self._refusal(tx, short))
            else:
                reservation = Reservation(
                    reservation_id, order_id, Status.RESERVED, lines, at,
                    iso(now + self.reservation_ttl))
            await self.reservations.add(tx, reservation)
            await self._publish(tx, reservation, reservation.status)
        # Stored before refusing, so the same reservation_id gets the same 409 again.
        return reservation.replay(order_id, lines), True

    async def commit(self, reservation_id: str) -> Reservation:
        """reserved -> sold; too late (past ``expires_at``) it expires instead: the stock
        goes back and the answer is 409 ``reservation-expired``, whether or not the sweeper
        got there first."""
        now = self.clock()
        at = iso(now)
        async with self.db.transaction() as tx:
            await tx.lock(f"reservation:{reservation_id}")
            r = await self._existing(tx, reservation_id)
            if is_due(r, now):
                await self._expire(tx, r, at)
                r = replace(r, status=Status.EXPIRED)
            elif commit_action(r) == Action.MOVE_STOCK:
                await self._move_all(tx, "commit", r, at)
                await self.reservations.set_status(tx, reservation_id, Status.COMMITTED, at)
                await self._publish(tx, r, Status.COMMITTED)
                r = replace(r, status=Status.COMMITTED)
        if r.status == Status.EXPIRED:  # refused after the expiry is committed
            raise expired(r)
        return r

    async def return_goods(self, reservation_id: str) -> Reservation:
        """sold -> available, when a confirmed order is cancelled; on hand is unchanged."""
        at = iso(self.clock())
        async with self.db.transaction() as tx:
            await tx.lock(f"reservation:{reservation_id}")
            r = await self._existing(tx, reservation_id)
            if return_action(r) == Action.MOVE_STOCK:
                await self._move_all(tx, "return", r, at)
                await self.reservations.set_status(tx, reservation_id, Status.RETURNED, at)
                await self._publish(tx, r, Status.RETURNED)
        return replace(r, status=Status.RETURNED)

    async def _existing(self, tx: Connection, reservation_id: str) -> Reservation:
        r = await self.reservations.get(reservation_id, tx)
        if r is None:
            raise NotFound(f"reservation {reservation_id} was not found")
        return r

    async def release(self, reservation_id: str) -> Reservation:
        at = iso(self.clock())
        async with self.db.transaction() as tx:
            await tx.lock(f"reservation:{reservation_id}")
            r = await self.reservations.get(reservation_id, tx)
            if r is None:
                # A tombstone: a late reserve with this id must not take stock.
                tomb = Reservation(reservation_id, None, Status.RELEASED, (), at, None,
                                   tombstone=True)
                await self.reservations.add(tx, tomb)
                return tomb
            action = release_action(r)
            if action == Action.MOVE_STOCK:
                await self._move_all(tx, "release", r, at)
                await self._publish(tx, r, Status.RELEASED)
            if action != Action.NOTHING:
                await self.reservations.set_status(tx, reservation_id, Status.RELEASED, at)
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
        for reservation_id in await self.reservations.due(bound, limit):
            try:
                async with self.db.transaction() as tx:
                    await tx.lock(f"reservation:{reservation_id}")
                    r = await self.reservations.get(reservation_id, tx)
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

    async def _expire(self, tx: Connection, r: Reservation, at: str) -> None:
        await self._move_all(tx, "release", r, at)
        await self.reservations.set_status(tx, r.reservation_id, Status.EXPIRED, at)
        await self._publish(tx, r, Status.EXPIRED)

    async def _publish(self, tx: Connection, r: Reservation, to: Status) -> None:
        """The event of a reservation's stock moving, in the transaction that moves it."""
        eid, event = reservation_event(r, to)
        await self.outbox.add(tx, event, event_id=eid)

    async def _move_all(self, tx: Connection, step: str, r: Reservation, at: str) -> None:
        await self.stock.lock(tx, (li.product_id for li in r.lines))
        for line in r.lines:
            if not await self.stock.move(tx, step, line.product_id, line.quantity, at):
                raise StockInvariantBroken(
                    f"{step} of reservation {r.reservation_id}: product {line.product_id}"
                    f" does not hold {line.quantity} reserved units")

    async def _refusal(self, tx: Connection, short: list[Line]) -> dict:
        reasons = []
        for line in short:
            stock = await self.stock.get(line.product_id, tx)
            if stock is None:
                reasons.append(f"product {line.product_id} has no stock")
            else:
                reasons.append(f"product {line.product_id}: {line.quantity} requested,"
                               f" {stock.available} available")
        return {"detail": "not enough stock: " + "; ".join(reasons),
                "product_ids": [li.product_id for li in short]}
