"""Payments commands and queries: load, ask the provider, apply the domain, store.

Idempotency is by payment id. A definitive provider answer (approved or declined) is
stored and given back to every repeat; a transient one (error, timeout) is not stored, so
a repeat asks again, and it leaves a doubt (doubts.py): the call may have happened all
the same, as the reconciler finds out. Provider calls happen outside database
transactions, bounded by the provider timeout. Each stored status change records its
event in the outbox in the same transaction. A refusal is a domain error (errors.py).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from weakref import WeakValueDictionary

from mercato.chassis import Database, Principal
from mercato.chassis.clock import Clock, iso
from mercato.chassis.data import Connection
from mercato.chassis.errors import DependencyTimedOut, DependencyUnavailable, NotFound
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.services.payments.domain import (
    ALREADY_CAPTURED,
    Action,
    AlreadyCancelled,
    CardDeclined,
    ChangedMeanwhile,
    Payment,
    ProviderFailure,
    ProviderRefused,
    ProviderResult,
    ProviderTimeout,
    RequestMismatch,
    Status,
)
from mercato.services.payments.doubts import ANSWERED
from mercato.services.payments.events import payment_event, transition_event_id
from mercato.services.payments.metrics import MoneyMetrics, money_metrics
from mercato.services.payments.ports import (
    CardProvider,
    DoubtRepository,
    PaymentRepository,
    StaleStatus,
    Tombstoned,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class Authorize:
    payment_id: str
    order_id: str
    customer_id: str
    amount: int
    currency: str
    card_token: str


@dataclass
class Payments:
    """The payments handlers, with their dependencies."""

    db: Database
    store: PaymentRepository
    outbox: Outbox
    provider: CardProvider
    provider_timeout: float
    clock: Clock
    doubts: DoubtRepository
    metrics: MoneyMetrics = field(default_factory=money_metrics)
    # Serializes commands on one payment id within this process, so a duplicate request
    # waits for the first one's answer instead of asking the provider twice.
    _locks: WeakValueDictionary = field(default_factory=WeakValueDictionary, init=False)

    def _lock(self, payment_id: str) -> asyncio.Lock:
        lock = self._locks.get(payment_id)
        if lock is None:
            lock = self._locks[payment_id] = asyncio.Lock()
        return lock

    async def facts(self) -> dict:
        """What ``mercato verify`` reads of payments: every payment's status and amount."""
        return {"payments": await self.store.summaries()}

    async def authorize(self, cmd: Authorize) -> Payment:
        async with self._lock(cmd.payment_id):
            if await self.store.is_tombstoned(cmd.payment_id):
                raise AlreadyCancelled(cmd.payment_id)
            existing = await self.store.get(cmd.payment_id)
            if existing:
                return _repeat(existing, cmd)
            draft = _draft(cmd)  # refuses bad amounts before the provider sees them
            # its doubt stays open until the answer is stored: a process killed between
            # the two leaves the reconciler an authorization to find
            result, opened = await self._call(self.provider.authorize(
                cmd.card_token, cmd.amount, cmd.currency, cmd.payment_id), cmd.payment_id,
                "authorize")
            now = iso(self.clock())
            payment = replace(
                draft, created_at=now, updated_at=now,
                status=Status.AUTHORIZED if result.approved else Status.FAILED,
                provider_reference=result.reference if result.approved else None,
                failure_reason=None if result.approved else (result.reason or "declined"),
            )
            log.info("payment_authorization", payment_id=payment.id, order_id=payment.order_id,
                     status=str(payment.status), reason=payment.failure_reason)
            try:
                async with self.db.transaction() as tx:
                    stored, created = await self.store.add(
                        tx, payment, "authorized" if result.approved else "declined")
                    if created:
                        await self._publish(tx, stored)
            except Tombstoned:
                # Voided while the provider was thinking: never resurrect it.
                await self._release(result, cmd.payment_id)  # its own doubt, if unanswered
                raise AlreadyCancelled(cmd.payment_id) from None
            await self._close(cmd.payment_id, opened)
            if not created:
                # Another instance stored an answer first; keep the first one only.
                if stored.provider_reference != payment.provider_reference:
                    await self._release(result, cmd.payment_id)
                return _repeat(stored, cmd)
            return _outcome(stored)

    async def capture(self, payment_id: str) -> Payment:
        return await self._move(payment_id, Action.CAPTURE)

    async def refund(self, payment_id: str) -> Payment:
        return await self._move(payment_id, Action.REFUND)

    async def void(self, payment_id: str) -> Payment | None:
        """The voided payment, or None when the id was unknown and is now a tombstone."""
        async with self._lock(payment_id):
            async with self.db.transaction() as tx:
                payment = await self.store.tombstone(tx, payment_id, iso(self.clock()))
            if payment is None:  # a tombstone is no transition: nothing to publish
                return None
            return await self._advance(payment, Action.VOID)

    async def payments_of_order(self, order_id: str, caller: Principal) -> list[Payment]:
        payments = await self.store.for_order(order_id)
        if caller.is_admin:
            return payments
        # Only the caller's: another's order lists nothing, as one that does not exist
        # does (a 404 would tell which order ids are real: no existence oracle).
        return [p for p in payments if p.customer_id == caller.subject]

    async def _move(self, payment_id: str, action: Action) -> Payment:
        async with self._lock(payment_id):
            payment = await self.store.get(payment_id)
            if payment is None:
                if await self.store.is_tombstoned(payment_id):
                    raise AlreadyCancelled(payment_id)
                raise NotFound(f"payment {payment_id} was not found")
            return await self._advance(payment, action)

    async def _advance(self, payment: Payment, action: Action) -> Payment:
        after = _apply(payment, action, iso(self.clock()))
        if after is payment:
            return payment
        if payment.provider_reference:
            result = await self._ask(self._provider_call(payment, action), payment.id, action)
            if action is Action.VOID and result.reason == ALREADY_CAPTURED:
                # A capture whose answer timed out did happen: give the money back.
                result = await self._ask(self.provider.refund(
                    payment.provider_reference, payment.amount), payment.id, Action.REFUND)
            if not result.approved:
                raise ProviderRefused(payment.id, action, result.reason)
        try:
            async with self.db.transaction() as tx:
                await self.store.move(tx, payment, after, str(after.status))
                await self._publish(tx, after)
        except StaleStatus:
            # Another instance moved it meanwhile: answer from what is stored now.
            current = await self.store.get(payment.id)
            assert current is not None
            return _apply(current, action, after.updated_at, allow_change=False)
        self.metrics.moved(after)  # stored by this transaction, and committed
        return after

    async def _publish(self, tx: Connection, payment: Payment) -> None:
        await self.outbox.add(tx, payment_event(payment),
                              event_id=transition_event_id(payment.id, payment.status))

    def _provider_call(self, payment: Payment, action: Action) -> Awaitable[ProviderResult]:
        ref = payment.provider_reference or ""
        if action is Action.CAPTURE:
            return self.provider.capture(ref, payment.amount)
        if action is Action.VOID:
            return self.provider.void(ref)
        return self.provider.refund(ref, payment.amount)

    async def _ask(self, call: Awaitable[ProviderResult], payment_id: str,
                   action: str) -> ProviderResult:
        """The provider's answer, its doubt closed by it (``_call``)."""
        result, opened = await self._call(call, payment_id, action)
        await self._close(payment_id, opened)
        return result

    async def _call(self, call: Awaitable[ProviderResult], payment_id: str,
                    action: str) -> tuple[ProviderResult, str]:
        """The provider's answer and when its doubt was opened. The doubt is opened before
        the call is sent; with no answer (a timeout, a failure) — or a process killed
        while it waited — the outcome is unknown and the open doubt is the reconciler's.
        The caller closes it (``_close``) once the answer is safe."""
        opened = iso(self.clock())
        try:
            await self.doubts.doubt(payment_id, str(action), opened)
        except BaseException:
            if inspect.iscoroutine(call):
                call.close()  # never sent: nothing happened at the provider
            raise
        try:
            async with asyncio.timeout(self.provider_timeout):
                result = await call
        except (TimeoutError, ProviderTimeout) as exc:
            log.warning("provider_timeout", timeout=self.provider_timeout,
                        payment_id=payment_id, action=str(action))
            # no Retry-After on this 504, as ever
            raise DependencyTimedOut(f"the card provider did not answer within "
                                     f"{self.provider_timeout}s", kind="provider-timeout",
                                     retry_after=None) from exc
        except ProviderFailure as exc:
            log.warning("provider_failure", error=str(exc), payment_id=payment_id)
            raise DependencyUnavailable(f"the card provider is unavailable: {exc}",
                                        kind="provider-unavailable", retry_after=1) from exc
        return result, opened

    async def _close(self, payment_id: str, opened: str) -> None:
        """Close the doubt opened at ``opened`` (if a later call has not opened another)."""
        try:
            await self.doubts.settle(payment_id, opened, ANSWERED, iso(self.clock()))
        except Exception as exc:  # the answer stands; the reconciler finds it agrees
            log.warning("provider_doubt_not_closed", payment_id=payment_id, error=str(exc))

    async def _release(self, result: ProviderResult, payment_id: str) -> None:
        """Give back an authorization we are not going to keep (if unanswered, its doubt
        is settled by the reconciler)."""
        if not (result.approved and result.reference):
            return
        try:
            await self._ask(self.provider.void(result.reference), payment_id, Action.VOID)
        except DependencyUnavailable as exc:  # unavailable or timed out
            log.warning("orphan_authorization_not_voided", reference=result.reference,
                        error=str(exc))


def _apply(payment: Payment, action: Action, at: str, *, allow_change: bool = True) -> Payment:
    after = payment.apply(action, at)  # IllegalTransition when the status forbids it
    if after is not payment and not allow_change:
        raise ChangedMeanwhile(payment.id)
    return after


def _draft(cmd: Authorize) -> Payment:
    """The payment to authorize; InvalidPayment when it cannot exist."""
    return Payment(id=cmd.payment_id, order_id=cmd.order_id, customer_id=cmd.customer_id,
                   amount=cmd.amount, currency=cmd.currency, status=Status.FAILED,
                   provider_reference=None, failure_reason=None, created_at="", updated_at="")


def _outcome(payment: Payment) -> Payment:
    if payment.status is Status.FAILED:
        raise CardDeclined(payment.id, payment.failure_reason)
    if payment.status is Status.VOIDED:
        raise AlreadyCancelled(payment.id)
    return payment


def _repeat(existing: Payment, cmd: Authorize) -> Payment:
    if not existing.same_request(cmd.order_id, cmd.customer_id, cmd.amount, cmd.currency):
        raise RequestMismatch(cmd.payment_id)
    return _outcome(existing)
