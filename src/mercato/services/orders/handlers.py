"""Orders commands and queries: place, read, list and cancel orders; and the courier's
news (ShipmentDispatched, ShipmentDelivered), which ship and deliver them. A refusal is a
domain error (domain/refusals.py, domain/order.py); errors.py says what each answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from mercato.chassis.calls import Unavailable
from mercato.chassis.clock import Clock, IdFactory, iso
from mercato.chassis.data import Connection
from mercato.chassis.errors import DependencyUnavailable, NotFound
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import NotYet, Outbox
from mercato.chassis.sealing import Sealer
from mercato.chassis.security import Principal
from mercato.contracts.envelope import Envelope
from mercato.contracts.shipping import ShipmentDelivered, ShipmentDispatched
from mercato.services.orders.adapters.events import publish
from mercato.services.orders.adapters.store import idempotency_lock, order_lock, units_lock
from mercato.services.orders.checkout.choreography import cancel_now
from mercato.services.orders.checkout.runner import SagaRunner
from mercato.services.orders.domain.limits import UnitsLimit
from mercato.services.orders.domain.order import InvalidOrder, Line, Order, Status
from mercato.services.orders.domain.refusals import (
    AlreadyCancelled,
    CheckoutBusy,
    IdempotencyKeyReused,
    TooManyCheckouts,
    UnknownProduct,
)
from mercato.services.orders.domain.saga import CheckoutSaga, Phase
from mercato.services.orders.ports import CartPort, CatalogPort, OrderRepository

log = get_logger(__name__)
# A checkout being undone: its parcel is being called back, the order will be cancelled.
UNDOING = (Phase.COMPENSATING, Phase.REFUNDING, Phase.CANCELLED)


@dataclass
class Orders:
    store: OrderRepository
    runner: SagaRunner
    catalog: CatalogPort
    cart: CartPort
    clock: Clock
    new_id: IdFactory
    outbox: Outbox
    # orchestration: the runner drives the checkout; choreography: OrderPlaced starts it
    # and the participants' events finish it (docs/choreography.md).
    mode: str = "orchestration"
    sealer: Sealer | None = None
    max_in_flight: int = 0  # checkouts in progress past which new orders are refused; 0: any
    max_in_flight_per_customer: int = 0  # the same, for one customer's checkouts; 0: any
    # units of a product one customer may hold in a day (domain/limits.py); 0: any
    units_limit: UnitsLimit = field(default_factory=lambda: UnitsLimit(0))

    async def place_order(self, customer: Principal, body: dict,
                          idempotency_key: str | None) -> Order:
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if idempotency_key:  # a cheap read first; the placing transaction checks again
            replay = await self._replay(self.store.db, customer.subject, idempotency_key,
                                        digest)
            if replay:
                return replay
        await self._admit(customer.subject)
        lines, currency = await self._price(customer, body)
        moment = self.clock()
        now = iso(moment)
        placed = Order.place(self.new_id(), customer.subject, lines, currency,
                             body["shipping_address"], now, from_cart=bool(body.get("from_cart")))
        order = Order.fold(placed)
        async with self.store.db.transaction() as tx:
            if idempotency_key:
                # One request per key at a time: a second one with the same key waits here
                # till the first commits, then finds its key and is answered the same order
                # (without the lock, on PostgreSQL both would miss the key and the second
                # insert of it would clash). Locks in one order: key, units, order events.
                await tx.lock(idempotency_lock(customer.subject, idempotency_key))
                replay = await self._replay(tx, customer.subject, idempotency_key, digest)
                if replay:
                    return replay
            # After the replay (an accepted order is answered again, not counted against
            # itself), before anything is written: a refusal leaves no key to replay it.
            await self._within_units_limit(tx, customer.subject, lines, moment)
            if idempotency_key:
                await self.store.remember_key(tx, customer.subject, idempotency_key, digest,
                                              order.id, now)
            await self.store.hold_units(tx, order.id, customer.subject, lines, moment)
            token = body["payment"]["card_token"]
            if self.choreographed:  # the token travels sealed in OrderPlaced, till authorized
                await self.store.insert_saga(tx, CheckoutSaga(order.id, ""), now,
                                             mode=self.mode, customer_id=customer.subject)
                await publish(self.outbox, tx, order, placed,
                              sealed_card_token=self.sealer.seal(token), checkout=self.mode)
            else:  # the first step's first attempt is claimed in the placing transaction
                saga = CheckoutSaga(order.id, token)
                saga.begin(saga.step, now)
                await self.store.insert_saga(tx, saga, now, customer_id=customer.subject)
                await publish(self.outbox, tx, order, placed)
            # last: the append takes the store's one lock till COMMIT (eventstore.py)
            await self.store.append(tx, placed, expected_version=0)
        if not self.choreographed:  # the runner starts from what was saved, unread
            self.runner.start(order.id, held=(saga, Order.fold(placed)))
        return order

    async def _admit(self, customer_id: str) -> None:
        """Load shedding: past ``max_in_flight`` checkouts in progress a new order is refused
        at once. Accepted beyond what the participants can carry, every checkout would
        slow down until steps time out and sagas give up — the platform's throughput
        falls as the offered load rises; refused, the client retries later and the
        accepted ones keep their pace."""
        limit, mine = self.max_in_flight, self.max_in_flight_per_customer
        if not (limit or mine):
            return
        # a limit of 0 is no limit: its count (taken up to 1) is not looked at
        busy, theirs = await self.store.checkouts_in_progress(limit or 1, customer_id,
                                                              mine or 1)
        if limit and busy >= limit:
            raise CheckoutBusy(limit)
        # Fairness: one account may hold only its share, so that its checkouts (slow ones,
        # or many at once) cannot fill the whole limit and refuse everybody else.
        if mine and theirs >= mine:
            raise TooManyCheckouts(mine)

    async def _within_units_limit(self, tx: Connection, customer_id: str, lines: list[Line],
                                  moment: datetime) -> None:
        """``UnitsLimitExceeded`` if this order takes the customer past the units of a
        product one customer may hold in a day. Counted in the placing transaction under
        the lock ``units:<customer>`` (held till it commits, with the units this order
        holds written), so two orders of one customer placed at once are counted one
        after the other and cannot both pass together past the limit: on SQLite the
        write lock of ``BEGIN IMMEDIATE`` does it already, on PostgreSQL (READ COMMITTED)
        the named lock does."""
        if not self.units_limit.active:
            return
        await tx.lock(units_lock(customer_id))
        held = await self.store.units_held(tx, customer_id, [x.product_id for x in lines],
                                           self.units_limit.since(moment))
        self.units_limit.check(lines, held, moment)

    @property
    def choreographed(self) -> bool:
        return self.mode == "choreography"

    async def _replay(self, tx, customer_id: str, key: str, digest: str) -> Order | None:
        seen = await self.store.find_key(tx, customer_id, key)
        if seen is None:
            return None
        if seen["request_hash"] != digest:
            raise IdempotencyKeyReused()
        return await self.store.get_order(seen["order_id"], tx)

    async def _price(self, customer: Principal, body: dict) -> tuple[list[Line], str]:
        try:
            if body.get("from_cart"):
                wanted = await self.cart.items(customer.subject)
                if not wanted:
                    raise InvalidOrder("from_cart: the cart is empty")
                where = "cart"
            else:
                wanted = body["items"]
                where = "items"
            products = await self.catalog.lookup([w["product_id"] for w in wanted])
        except Unavailable as exc:
            raise DependencyUnavailable(f"cannot price the order: {exc}",
                                        retry_after=1) from exc
        lines, currencies = [], set()
        for i, w in enumerate(wanted):
            product = products.get(w["product_id"])
            if product is None:
                raise UnknownProduct(f"{where}[{i}].product_id", w["product_id"])
            currencies.add(product["currency"])
            lines.append(Line(w["product_id"], int(w["quantity"]), int(product["price"]),
                              product["name"]))
        if len(currencies) > 1:
            raise InvalidOrder(f"{where}: products in several currencies "
                               f"({', '.join(sorted(currencies))}) cannot share one order")
        return lines, currencies.pop()

    async def get_order(self, caller: Principal, order_id: str) -> Order:
        order = await self.store.get_order(order_id)
        if order is None or not (caller.is_admin or order.customer_id == caller.subject):
            raise NotFound(f"order {order_id} was not found")
        return order

    async def cancel_order(self, caller: Principal, order_id: str) -> Order:
        order = await self.get_order(caller, order_id)
        if order.status is Status.CANCELLED:
            raise AlreadyCancelled(order_id)
        if self.choreographed:
            if await cancel_now(self.store, self.outbox, self.clock, order_id) is None:
                raise AlreadyCancelled(order_id)
            return order
        async with self.store.db.transaction() as tx:
            # again where it is written: the courier's news may have shipped it meanwhile
            # (its handler takes the same lock, so the two cannot both read the other's
            # state as it was before)
            await tx.lock(order_lock(order_id))
            current = await self.store.get_order(order_id, tx)
            current.check_cancellable()
            await self.store.request_cancel(order_id, tx)
        self.runner.start(order_id)
        return order

    async def on_shipment_progress(self, tx: Connection, envelope: Envelope,
                                   event: ShipmentDispatched | ShipmentDelivered) -> None:
        """The courier moved the order's parcel, in either checkout mode: in transit, the
        order is shipped (and can no longer be cancelled); delivered, it is delivered.
        Not while the order's cancellation is under way: its parcel is being called back.
        Under the order's lock: a cancellation asked for meanwhile reads the order after
        this commits (it is shipped then, and refused), or has committed before it is read."""
        await tx.lock(order_lock(event.order_id))
        order = await self.store.get_order(event.order_id, tx)
        saga = await self.store.get_saga(event.order_id, tx)
        if order is None or saga is None:
            log.warning("shipment_of_unknown_order", order_id=event.order_id,
                        heard=envelope.type)
            return
        if order.status is Status.CANCELLED or saga.cancel_requested or saga.phase in UNDOING:
            log.info("shipment_of_cancelled_order", order_id=order.id, heard=envelope.type)
            return
        if order.status is Status.PENDING or (isinstance(event, ShipmentDelivered)
                                              and order.status is Status.CONFIRMED):
            raise NotYet(f"order {order.id} is {order.status}: {envelope.type} came early")
        now = iso(self.clock())
        changes = (order.ship(now, event.tracking_number)
                   if isinstance(event, ShipmentDispatched) else order.deliver(now))
        if changes:
            await publish(self.outbox, tx, order, changes)
            await self.store.append(tx, changes, expected_version=order.version)  # last
