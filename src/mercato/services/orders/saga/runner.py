"""Runs checkout sagas: one task per order, its state saved after every step.

The runner writes a saga's progress. After a crash, ``resume_all`` picks up every saga
with work left and repeats its current step, which is safe because every call the saga
makes is idempotent. Two runners (two orders replicas on one database) may drive the same
saga: each save is a compare-and-set on the saga row's version, and a forward step's
attempt is saved before it is called, so a runner whose read was stale loses that save,
reads again and decides again instead of acting on it. A forward step is given up once its
deadline (seconds from its first attempt, on the injected clock) has passed; compensations
are retried with backoff until they succeed.

A change of the order's status is saved with the saga in one transaction: the order's own
event (appended at the version the runner read, so a concurrent writer is detected) and
the published one (OrderConfirmed, OrderCancelled) through the outbox, from which whoever
must hear of the outcome (the customer's mail, the cart) hears of it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import datetime

from mercato.chassis.clock import Clock, iso
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.chassis.tasks import stop_tasks
from mercato.services.orders.domain.events import Recorded
from mercato.services.orders.domain.order import Order, Reason, Status
from mercato.services.orders.domain.saga import (
    COMPENSATION,
    FORWARD,
    CheckoutSaga,
    Phase,
    Step,
)
from mercato.services.orders.events import publish
from mercato.services.orders.eventstore import ConcurrencyError
from mercato.services.orders.saga.participants import Participants, Result
from mercato.services.orders.store import SqlOrderStore

log = get_logger(__name__)
MAX_BACKOFF = 5.0
STEP_DEADLINE = 30.0  # seconds a forward step may take, all its attempts together


class SagaRunner:
    def __init__(self, store: SqlOrderStore, participants: Participants, outbox: Outbox,
                 clock: Clock, *, max_attempts: int | None = None, backoff: float = 0.2,
                 jitter: Callable[[float], float] = lambda cap: random.uniform(0, cap),
                 step_deadline: float = STEP_DEADLINE,
                 deadlines: Mapping[Step, float] | None = None) -> None:
        """``max_attempts`` bounds the failures a participant may answer for one step
        (None: only the deadline does); ``step_deadline`` is every forward step's
        deadline but the confirmation's (it has none), ``deadlines`` overrides it per step;
        ``jitter`` draws a backoff between 0 and its cap (full jitter)."""
        self.store = store
        self.participants = participants
        self.outbox = outbox
        self.clock = clock
        self.max_attempts = max_attempts
        self.deadlines = {s: step_deadline for s in FORWARD if s is not Step.CONFIRM}
        self.deadlines.update(deadlines or {})
        self.backoff = backoff
        self.jitter = jitter
        self.tasks: dict[str, asyncio.Task] = {}

    def start(self, order_id: str) -> None:
        """Run (or keep running) the saga of ``order_id`` in the background."""
        task = self.tasks.get(order_id)
        if task is None or task.done():
            self.tasks[order_id] = asyncio.create_task(self._guarded(order_id),
                                                       name=f"saga-{order_id}")

    async def resume_all(self) -> int:
        order_ids = await self.store.unfinished_sagas("orchestration")
        for order_id in order_ids:
            self.start(order_id)
        return len(order_ids)

    async def stop(self) -> None:
        await stop_tasks(list(self.tasks.values()))

    async def _guarded(self, order_id: str) -> None:
        """Run the saga; an unexpected error (a locked database, a bug) is logged and the
        saga is tried again with backoff from its saved state — never left pending until
        the next restart."""
        crashes = 0
        try:
            while True:
                try:
                    await self._run(order_id)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    crashes += 1
                    log.exception("saga_crashed", order_id=order_id, attempt=crashes)
                    await self._sleep(crashes)
        finally:
            if self.tasks.get(order_id) is asyncio.current_task():
                del self.tasks[order_id]

    async def _sleep(self, attempt: int) -> None:
        await asyncio.sleep(self.jitter(min(MAX_BACKOFF, self.backoff * 2 ** max(0, attempt - 1))))

    async def _run(self, order_id: str) -> None:
        failures = 0
        while True:
            saga = await self.store.get_saga(order_id)
            order = await self.store.get_order(order_id)
            if saga is None or order is None:
                log.error("saga_missing", order_id=order_id)
                return
            saga.honour_cancel()
            try:
                if saga.phase is Phase.FORWARD:
                    retry = await self._forward(saga, order)
                elif saga.phase is Phase.COMPENSATING:
                    retry = await self._undo(saga, order, saga.next_compensation())
                elif saga.phase is Phase.REFUNDING:
                    retry = await self._undo(saga, order, saga.next_refund_step())
                else:
                    now = self.clock()
                    if changes := self._settle(saga, order, now):
                        await self._save(saga, order, changes, now)
                    return
            except ConcurrencyError as exc:
                # Someone else wrote the saga or the order (a second runner of the same
                # saga): nothing of this step was saved; read both again, decide again.
                log.warning("saga_changed_meanwhile", order_id=order_id, error=str(exc))
                retry = True
            if retry:
                failures += 1
                await self._sleep(failures)
            else:
                failures = 0

    async def _forward(self, saga: CheckoutSaga, order: Order) -> bool:
        step, now = saga.step, self.clock()
        deadline = self.deadlines.get(step)
        if saga.overdue(step, iso(now), deadline):  # e.g. it passed while backing off
            saga.give_up(step, iso(now), f"deadline of {deadline:g}s passed before attempt "
                         f"{saga.record(step).attempts + 1}")
            log.info("saga_step_given_up", order_id=order.id, step=step.value)
            await self._save(saga, order, self._settle(saga, order, now), now)
            return False
        saga.begin(step, iso(now))
        await self._save(saga, order, [], now)  # claims the attempt: a stale read stops here
        result = await self._do(step, saga, order)
        now = self.clock()
        retry = False
        if result.ok:
            saga.succeeded(step, iso(now), result.detail or None)
        elif result.outcome == "rejected":
            saga.rejected(step, iso(now), result.detail,
                          Reason(result.reason) if result.reason else None)
        else:
            retry = saga.failed(step, iso(now), result.detail, deadline=deadline,
                                max_attempts=self.max_attempts,
                                answered=result.outcome == "transient")
        log.info("saga_step", order_id=order.id, step=step.value, outcome=result.outcome,
                 detail=result.detail, phase=saga.phase.value)
        await self._save(saga, order, self._settle(saga, order, now), now)
        return retry

    async def _do(self, step: Step, saga: CheckoutSaga, order: Order) -> Result:
        p = self.participants
        if step is Step.AUTHORIZE:
            return await p.authorize_payment(order, saga.card_token)
        action = {Step.RESERVE: p.reserve_stock, Step.SCHEDULE: p.schedule_shipment,
                  Step.CAPTURE: p.capture_payment, Step.CONFIRM: p.confirm_order}[step]
        return await action(order)

    async def _undo(self, saga: CheckoutSaga, order: Order, what: Step | str | None) -> bool:
        if what is None:
            return False
        name = COMPENSATION[what] if isinstance(what, Step) else what
        result = await getattr(self.participants, name)(order)
        log.info("saga_compensation", order_id=order.id, action=name, outcome=result.outcome,
                 detail=result.detail)
        if not result.ok:
            return True
        now = self.clock()
        if isinstance(what, Step):
            saga.compensated(what, iso(now), result.detail or None, refunded=result.refunded)
        else:
            saga.refund_step_done(what, iso(now), result.detail or None,
                                  refunded=result.refunded)
        await self._save(saga, order, self._settle(saga, order, now), now)
        return False

    @staticmethod
    def _settle(saga: CheckoutSaga, order: Order, now: datetime) -> list[Recorded]:
        """The order's events that bring it in line with a finished saga (none if it is
        already), to be saved in the same transaction as the saga."""
        if saga.phase in (Phase.CONFIRMED, Phase.REFUNDING) and order.status is Status.PENDING:
            return order.confirm(iso(now))
        if saga.phase is Phase.CANCELLED and order.status is not Status.CANCELLED:
            return order.cancel(Reason(saga.reason or Reason.EXPIRED.value), iso(now),
                                refunded=saga.refunded)
        return []

    async def _save(self, saga: CheckoutSaga, order: Order, changes: list[Recorded],
                    now: datetime) -> None:
        """Saga and order in one transaction; ``ConcurrencyError`` (``SagaConflict`` for
        the saga row) when another writer got there first, and then nothing is saved."""
        async with self.store.db.transaction() as tx:
            version = await self.store.save_saga(tx, saga, iso(now))
            if changes:
                await self.store.append(tx, changes, expected_version=order.version)
                await publish(self.outbox, tx, order, changes)
        saga.version = version
        for change in changes:
            order.apply(change)
