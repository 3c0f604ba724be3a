"""The reconciler of doubts about the card provider: every ``poll`` seconds, each doubt
older than ``grace`` (a request delayed on its way may still land before then) is looked
up at the provider and settled as doubts.py decides — a late authorization of an ended
payment voided, a late capture refunded — with the same idempotency keys as the
checkout's own calls, so nothing is charged or released twice.

One runs in every payments instance; two settling one doubt ask the provider the same
idempotent thing, and only the first closes it. A doubt that must wait (the checkout may
still use the payment) or could not be acted on is postponed: looked at again after
another grace, behind the newer ones, so a few that keep waiting never hold up the rest.
A failing pass (the provider still down) is logged and the doubts stay open for the
next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from functools import cache
from typing import Any

from prometheus_client import Counter

from mercato.chassis.clock import iso
from mercato.chassis.data import Row
from mercato.chassis.logging import get_logger
from mercato.chassis.worker import RunsOnWorker, Worker
from mercato.services.payments.domain import ProviderFailure
from mercato.services.payments.doubts import Settle, settle
from mercato.services.payments.handlers import Payments

log = get_logger(__name__)


@cache
def settled_counter() -> Counter:
    """Doubts settled by outcome (``voided-late-authorization`` and
    ``refunded-late-capture`` are the provider's late successes), in the default registry."""
    return Counter("mercato_payments_provider_doubts_settled", "Doubts about the card "
                   "provider settled, by outcome", ["outcome"])


class ProviderReconciler(RunsOnWorker):
    def __init__(self, payments: Payments, *, grace: float, poll: float,
                 batch: int = 50) -> None:
        self.payments = payments
        self.grace = grace
        self.batch = batch
        self.settled: dict[str, int] = {}  # outcome -> doubts settled so, since start
        self.worker = Worker("provider-reconciler", self._pass, poll=poll,
                             backoff=(poll,), failed="provider_reconcile_failed")

    async def _pass(self) -> None:
        await self.reconcile()

    async def reconcile(self) -> int:
        """One pass: settle what can be of the due doubts; how many were settled."""
        p = self.payments
        before = iso(p.clock() - timedelta(seconds=self.grace))
        settled = 0
        for doubt in await p.doubts.due(before, self.batch):
            try:
                outcome = await self._settle(doubt)
            except (ProviderFailure, TimeoutError) as exc:
                log.warning("provider_doubt_unsettled", payment_id=doubt["payment_id"],
                            error=str(exc))
                continue
            if outcome is None:  # to the back of the queue: newer doubts come first
                await p.doubts.postpone(doubt["payment_id"], doubt["opened_at"],
                                        iso(p.clock()))
                continue
            if await p.doubts.settle(doubt["payment_id"], doubt["opened_at"], outcome,
                                     iso(p.clock())):
                settled += 1
                self.settled[outcome] = self.settled.get(outcome, 0) + 1
                settled_counter().labels(outcome).inc()
                log.info("provider_doubt_settled", payment_id=doubt["payment_id"],
                         action=doubt["action"], outcome=outcome)
        return settled

    async def _settle(self, doubt: Row) -> str | None:
        """The doubt's outcome once acted on, or None while it must wait."""
        p, pid = self.payments, doubt["payment_id"]
        ours = await p.store.get(pid)
        tombstoned = ours is None and await p.store.is_tombstoned(pid)
        theirs = await self._ask(p.provider.lookup(pid))
        decision = settle(ours, tombstoned, theirs)
        if decision is Settle.WAIT:
            return None
        if decision is Settle.NOTHING:
            return "nothing-held" if theirs is None else f"agrees-{theirs.status}"
        assert theirs is not None
        amount = ours.amount if ours is not None else 0
        if decision is Settle.VOID:
            result = await self._ask(p.provider.void(theirs.reference))
        else:
            if ours is None:  # a capture needs a stored payment: never for a tombstone
                return None
            result = await self._ask(p.provider.refund(theirs.reference, amount))
        if not result.approved:
            log.warning("provider_doubt_refused", payment_id=pid, decision=str(decision),
                        reason=result.reason)
            return None
        log.warning("late_provider_success_reconciled", payment_id=pid,
                    provider_status=theirs.status, decision=str(decision))
        return "voided-late-authorization" if decision is Settle.VOID else \
            "refunded-late-capture"

    async def _ask(self, call: Awaitable[Any]) -> Any:
        async with asyncio.timeout(self.payments.provider_timeout):
            return await call
