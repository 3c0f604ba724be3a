"""Runs checkout sagas: one task per order, its state saved at every step.

The runner writes a saga's progress. It reads the saga and the order once, keeps them in
memory while it drives them, and saves once per step: a participant's answer together with
the claim on the next step's first attempt. After a crash, ``resume_all`` picks up every
saga with work left and repeats its current step, which is safe because every call the
saga makes is idempotent. Two runners (two orders replicas on one database) may drive the
same saga: each save is a compare-and-set on the saga row's version, and a forward step's
attempt is saved before it is called, so a runner whose copy was stale loses that save,
reads again and applies its decision to the fresh copy (as a late reply would be) instead
of acting on the old one. A customer's cancel bumps the version too: the runner learns of
it at its next save. A forward step is given up once its deadline (seconds from its first
attempt, on the injected clock) has passed; compensations are retried with backoff until
they succeed.

A change of the order's status is saved with the saga in one transaction: the order's own
event (appended at the version read, so a concurrent writer is detected) and the published
one (OrderConfirmed, OrderCancelled) through the outbox, for whoever must hear of it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from opentelemetry.trace import Tracer

from mercato.chassis.clock import Clock, iso
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging import Outbox
from mercato.chassis.tasks import stop_tasks
from mercato.chassis.telemetry import attach_context, detach, parse_traceparent
from mercato.services.orders.adapters.events import publish
from mercato.services.orders.checkout.decisions import (
    Decide,
    StepPolicy,
    answer,
    claim,
    settled,
    undone,
)
from mercato.services.orders.checkout.spans import outcome, saga_span, saga_tracer
from mercato.services.orders.domain.answers import Result
from mercato.services.orders.domain.events import Recorded
from mercato.services.orders.domain.order import Order
from mercato.services.orders.domain.saga import COMPENSATION, FORWARD, CheckoutSaga, Phase, Step
from mercato.services.orders.metrics import CheckoutMetrics, Finished, checkout_metrics, finished
from mercato.services.orders.ports import ConcurrencyError, OrderRepository, Participants

log = get_logger(__name__)
CONFLICTS = 5  # saves lost to other writers in a row before the loop backs off
MAX_BACKOFF = 5.0
STEP_DEADLINE = 30.0  # seconds a forward step may take, all its attempts together


@dataclass
class _Live:
    """The saga and order a runner holds between steps, as last saved: read once, then
    kept in memory and read again only when a save finds that someone else wrote."""

    saga: CheckoutSaga
    order: Order
    claimed: bool = False  # the current step's next attempt is saved and not yet made


class SagaRunner:
    def __init__(self, store: OrderRepository, participants: Participants, outbox: Outbox,
                 clock: Clock, *, max_attempts: int | None = None, backoff: float = 0.2,
                 jitter: Callable[[float], float] = lambda cap: random.uniform(0, cap),
                 step_deadline: float = STEP_DEADLINE,
                 deadlines: Mapping[Step, float] | None = None,
                 tracer: Tracer | None = None, metrics: CheckoutMetrics | None = None) -> None:
        """``max_attempts`` bounds the failures a participant may answer for one step
        (None: only the deadline does); ``step_deadline`` is every forward step's
        deadline but the confirmation's (it has none), ``deadlines`` overrides it per step;
        ``jitter`` draws a backoff between 0 and its cap (full jitter)."""
        self.store = store
        self.participants = participants
        self.outbox = outbox
        self.clock = clock
        steps = {s: step_deadline for s in FORWARD if s is not Step.CONFIRM}
        self.policy = StepPolicy({**steps, **(deadlines or {})}, max_attempts)
        self.backoff = backoff
        self.jitter = jitter
        self.tasks: dict[str, asyncio.Task] = {}
        self.tracer = tracer or saga_tracer()
        self.metrics = metrics or checkout_metrics()

    def start(self, order_id: str,
              held: tuple[CheckoutSaga, Order] | None = None) -> None:
        """Run (or keep running) the saga of ``order_id`` in the background; ``held``: the
        saga and order just saved, with the current step's attempt claimed (the placing
        transaction's), so the runner need not read them."""
        task = self.tasks.get(order_id)
        if task is None or task.done():
            live = _Live(*held, claimed=True) if held else None
            self.tasks[order_id] = asyncio.create_task(self._guarded(order_id, live),
                                                       name=f"saga-{order_id}")

    async def resume_all(self) -> int:
        """Start every saga with work left, each in the trace its order was placed in."""
        order_ids = await self.store.unfinished_sagas("orchestration")
        traces = await self.store.saga_traceparents(order_ids)
        for order_id in order_ids:
            token = attach_context(parse_traceparent(traces.get(order_id)))
            self.start(order_id)  # the task takes the context it is created in
            detach(token)
        if order_ids:
            log.info("sagas_resumed", count=len(order_ids))
        return len(order_ids)

    async def stop(self) -> None:
        await stop_tasks(list(self.tasks.values()))

    async def _guarded(self, order_id: str, live: _Live | None = None) -> None:
        """Run the saga; an unexpected error (a locked database, a bug) is logged and the
        saga is tried again with backoff from its saved state — never left pending until
        the next restart."""
        crashes = 0
        try:
            while True:
                try:
                    await self._run(order_id, live)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    crashes += 1
                    live = None  # start again from what was saved
                    log.exception("saga_crashed", order_id=order_id, attempt=crashes)
                    await self._sleep(crashes)
        finally:
            if self.tasks.get(order_id) is asyncio.current_task():
                del self.tasks[order_id]

    async def _sleep(self, attempt: int) -> None:
        await asyncio.sleep(self.jitter(min(MAX_BACKOFF, self.backoff * 2 ** max(0, attempt - 1))))

    async def _load(self, order_id: str) -> _Live | None:
        saga = await self.store.get_saga(order_id)
        order = await self.store.get_order(order_id)
        return None if saga is None or order is None else _Live(saga, order)

    async def _run(self, order_id: str, live: _Live | None = None) -> None:
        failures = 0
        live = live or await self._load(order_id)
        if live is None:
            log.error("saga_missing", order_id=order_id)
            return
        while True:
            saga = live.saga
            saga.honour_cancel()
            try:
                if saga.phase is Phase.FORWARD:
                    retry = await self._forward(live)
                elif saga.phase is Phase.COMPENSATING:
                    retry = await self._undo(live, saga.next_compensation())
                elif saga.phase is Phase.REFUNDING:
                    retry = await self._undo(live, saga.next_refund_step())
                else:
                    await self._commit(live, settled)
                    return
            except ConcurrencyError as exc:
                # Others kept writing the saga or the order: read both again, decide again.
                log.warning("saga_changed_meanwhile", order_id=order_id, error=str(exc))
                live = await self._load(order_id) or live
                retry = True
            if retry:
                failures += 1
                await self._sleep(failures)
            else:
                failures = 0

    async def _commit(self, live: _Live, decide: Decide) -> None:
        """Apply ``decide`` to the saga and order in hand and save them in one transaction.
        If another writer got there first (a customer's cancel, a second runner), nothing
        was saved: read both again and apply ``decide`` to the fresh copy — the same
        decision a late reply gets — up to ``CONFLICTS`` times."""
        for attempt in range(1, CONFLICTS + 1):
            now, before = self.clock(), finished(live.saga)
            decision = decide(live.saga, live.order, now)
            if decision is None:  # nothing to save: the copy in hand decides what is next
                return
            changes, claimed = decision
            try:
                await self._save(live.saga, live.order, changes, now, before)
            except ConcurrencyError:
                fresh = await self._load(live.saga.order_id)
                if attempt == CONFLICTS or fresh is None:
                    raise
                live.saga, live.order, live.claimed = fresh.saga, fresh.order, False
                continue
            live.claimed = claimed
            return

    async def _forward(self, live: _Live) -> bool:
        """One attempt of the current step; True when it should be tried again later."""
        if not live.claimed:
            await self._commit(live, claim(self.policy))
            if not live.claimed:
                return False  # given up or cancelled: the loop goes on by phase
        step = live.saga.step
        with saga_span(self.tracer, "step", step.value, live.order.id,
                       live.saga.record(step).attempts) as span:
            result = await self._do(step, live.saga, live.order)
            outcome(span, result)
            live.claimed = False
            await self._commit(live, answer(step, result, self.policy))
        log.info("saga_step", order_id=live.order.id, step=step.value,
                 outcome=result.outcome, detail=result.detail, phase=live.saga.phase.value)
        return live.saga.phase is Phase.FORWARD and not live.claimed

    async def _do(self, step: Step, saga: CheckoutSaga, order: Order) -> Result:
        p = self.participants
        if step is Step.AUTHORIZE:
            return await p.authorize_payment(order, saga.card_token)
        action = {Step.RESERVE: p.reserve_stock, Step.SCHEDULE: p.schedule_shipment,
                  Step.CAPTURE: p.capture_payment, Step.CONFIRM: p.confirm_order}[step]
        return await action(order)

    async def _undo(self, live: _Live, what: Step | str | None) -> bool:
        if what is None:
            return False
        name = COMPENSATION[what] if isinstance(what, Step) else what
        with saga_span(self.tracer, "compensation", name, live.order.id) as span:
            result = await getattr(self.participants, name)(live.order)
            outcome(span, result)
            log.info("saga_compensation", order_id=live.order.id, action=name,
                     outcome=result.outcome, detail=result.detail)
            if not result.ok:
                return True
            await self._commit(live, undone(what, result))
        return False

    async def _save(self, saga: CheckoutSaga, order: Order, changes: list[Recorded],
                    now: datetime, before: Finished) -> None:
        """Saga and order in one transaction; ``ConcurrencyError`` (``SagaConflict`` for
        the saga row) when another writer got there first, and then nothing is saved."""
        async with self.store.db.transaction() as tx:
            version = await self.store.save_saga(tx, saga, iso(now))
            if changes:
                await publish(self.outbox, tx, order, changes)
                await self.store.append(tx, changes, expected_version=order.version)  # last
        self.metrics.committed(order, saga, changes, before)
        saga.version = version
        for change in changes:
            order.apply(change)
