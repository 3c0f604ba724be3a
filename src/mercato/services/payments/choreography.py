"""Payments' part in a choreographed checkout (docs/choreography.md): it remembers the
amount and the sealed card token from OrderPlaced (forgotten once the authorization is
answered or the checkout called off), authorizes on StockReserved, captures on
ShipmentScheduled, and on OrderCancelling undoes its part (void an authorization, refund a
capture, or leave a tombstone so a late authorization never happens) and says so
(PaymentCheckoutUndone).

Authorization and capture are the same commands as the orchestrator's HTTP calls, with the
same payment id. A card provider that keeps failing is asked ``attempts`` times with
backoff, then the payment is recorded as failed (``provider_unavailable``): PaymentFailed
cancels the order, as the orchestrator gives up on a step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mercato.chassis.clock import iso
from mercato.chassis.data import Connection
from mercato.chassis.errors import DependencyUnavailable
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import NotYet
from mercato.chassis.sealing import Sealer
from mercato.chassis.telemetry import annotate
from mercato.contracts.envelope import Envelope
from mercato.contracts.ids import payment_id
from mercato.contracts.inventory import StockReserved
from mercato.contracts.orders import OrderCancelling, OrderPlaced
from mercato.contracts.payments import PaymentCheckoutUndone
from mercato.contracts.shipping import ShipmentScheduled
from mercato.services.payments.domain import (
    AlreadyCancelled,
    CardDeclined,
    ChangedMeanwhile,
    IllegalTransition,
    Payment,
    PaymentError,
    ProviderRefused,
    Status,
)
from mercato.services.payments.events import payment_event, transition_event_id
from mercato.services.payments.handlers import Authorize, Payments
from mercato.services.payments.ports import IntentRepository, Tombstoned

log = get_logger(__name__)
# Refusals that are outcomes: declined (PaymentFailed published), cancelled, or a
# transition that is not needed (a capture of a voided payment, a void of a failed one);
# each with the outcome the trace and the log name it by.
OUTCOMES: dict[type[PaymentError], str] = {
    CardDeclined: "payment-declined", AlreadyCancelled: "already-cancelled",
    IllegalTransition: "invalid-transition", ChangedMeanwhile: "invalid-transition",
}
SETTLED = tuple(OUTCOMES)
# The provider down, slow or refusing: the authorization is asked again.
TRANSIENT = (DependencyUnavailable, ProviderRefused)


class CheckoutReactions:
    def __init__(self, payments: Payments, intents: IntentRepository, sealer: Sealer, *,
                 attempts: int, backoff: float,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.payments = payments
        self.intents = intents
        self.sealer = sealer
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    async def on_order(self, _tx: Connection | None, envelope: Envelope,
                       event: OrderPlaced | OrderCancelling) -> None:
        if isinstance(event, OrderCancelling):
            annotate({"mercato.saga.step": "void_payment"})
            await self.undo(event.order_id)
            return
        if event.checkout == "choreography" and not event.sealed_card_token:
            log.error("order_placed_without_card", order_id=event.order_id)
            return
        await self.intents.remember(event, iso(self.payments.clock()))

    async def undo(self, order_id: str) -> None:
        pid = payment_id(order_id)
        try:
            existing = await self.payments.store.get(pid)
            if existing is not None and existing.status is Status.FAILED:
                outcome = "nothing"  # declined: nothing was held, nothing to void
            else:
                voided = await self.payments.void(pid)
                outcome = "voided" if voided is not None else "nothing"
        except IllegalTransition as exc:
            if exc.status == Status.CAPTURED:
                await self.payments.refund(pid)
                outcome = "refunded"
            elif exc.status in (Status.REFUNDED, Status.FAILED):
                outcome = "refunded" if exc.status == Status.REFUNDED else "nothing"
            else:
                raise
        async with self.payments.db.transaction() as tx:
            await self.payments.outbox.add(tx, PaymentCheckoutUndone(
                order_id=order_id, payment_id=pid, outcome=outcome),
                event_id=transition_event_id(pid, "undone"))
        await self.intents.forget_card(order_id)  # called off: never authorized from now on

    async def on_stock_reserved(self, _tx: Connection | None, envelope: Envelope,
                                event: StockReserved) -> None:
        intent = await self.intents.get(event.order_id)
        if intent is None:
            raise NotYet(f"OrderPlaced of order {event.order_id} not heard yet")
        if intent["checkout"] != "choreography":
            return  # the orchestrator authorizes this order
        if not intent["sealed_card_token"]:
            # forgotten once answered (or called off): this is a redelivery, and the
            # answer was stored and published with the payment
            log.info("authorization_already_answered", order_id=event.order_id)
            return
        annotate({"mercato.saga.step": "authorize_payment"})
        cmd = Authorize(payment_id(event.order_id), event.order_id, intent["customer_id"],
                        intent["amount"], intent["currency"],
                        self.sealer.open(intent["sealed_card_token"]))
        await self._authorize(cmd, event.order_id)
        # Answered for good: the card is not kept past its use. Not in the authorization's
        # transaction; a crash before this line redelivers StockReserved, which is
        # answered from the stored payment and forgets it then.
        await self.intents.forget_card(event.order_id)

    async def _authorize(self, cmd: Authorize, order_id: str) -> None:
        """Authorize, retrying a provider that fails transiently; returns once the payment
        is answered (authorized, declined, given up); raises what should be redelivered."""
        for attempt in range(1, self.attempts + 1):
            try:
                await self.payments.authorize(cmd)
                return
            except SETTLED as exc:
                _settled(exc, "StockReserved", order_id)
                return
            except TRANSIENT as exc:
                log.warning("authorization_failed", order_id=order_id,
                            attempt=attempt, detail=str(exc))
                if attempt < self.attempts:
                    await self.sleep(self.backoff * 2 ** (attempt - 1))
        await self._give_up(cmd, "provider_unavailable")

    async def on_shipment_scheduled(self, _tx: Connection | None, envelope: Envelope,
                                    event: ShipmentScheduled) -> None:
        annotate({"mercato.saga.step": "capture_payment"})
        try:
            await self.payments.capture(payment_id(event.order_id))
        except SETTLED as exc:
            _settled(exc, "ShipmentScheduled", event.order_id)

    async def _give_up(self, cmd: Authorize, reason: str) -> None:
        """Record the payment as failed (PaymentFailed), unless it was cancelled or
        answered meanwhile: the first stored answer wins."""
        p = self.payments
        now = iso(p.clock())
        failed = Payment(id=cmd.payment_id, order_id=cmd.order_id,
                         customer_id=cmd.customer_id, amount=cmd.amount,
                         currency=cmd.currency, status=Status.FAILED, provider_reference=None,
                         failure_reason=reason, created_at=now, updated_at=now)
        try:
            async with p.db.transaction() as tx:
                stored, created = await p.store.add(tx, failed, "declined")
                if created:
                    await p.outbox.add(tx, payment_event(stored), event_id=transition_event_id(
                        stored.id, stored.status))
        except Tombstoned:
            return
        log.warning("authorization_given_up", order_id=cmd.order_id, reason=reason,
                    stored=str(stored.status))


def _settled(exc: PaymentError, heard: str, order_id: str) -> None:
    """A refusal that is an outcome ends the reaction (anything else, the provider down or
    a bug, propagates and the event is redelivered): the trace and the log say which."""
    kind = OUTCOMES[type(exc)]
    annotate({"mercato.saga.outcome": kind},
             error=f"{kind}: {exc}" if isinstance(exc, CardDeclined) else None)
    log.info("checkout_step_refused", heard=heard, order_id=order_id, kind=kind,
             detail=str(exc))
