"""What the checkout tells an operator: how checkouts end (``mercato_checkouts_total``), how
long they take from placement to their end (``mercato_checkout_duration_seconds``) and how
long each saga step takes (``mercato_saga_step_duration_seconds``), in both saga modes.

Recorded once the transaction that saved the change has committed (the runner's save, or
the choreography's consumer transaction): a save lost to another writer, a replica's or a
redelivery's duplicate saves nothing and so counts nothing, and each order is counted once.
Durations come from the order's and the saga's own timestamps (the injected clock), not
from this process's timers, so they mean the same whichever replica ends the checkout.
A checkout slower than ``SLOW_CHECKOUT`` is also kept as a span when its trace was not
sampled (``chassis/telemetry/keep.py``).

A step's duration is from its first attempt to its outcome, retries and backoffs included
(orchestration). A choreographed step is heard, not run, by orders: its duration is from
the outcome of the step before it (the order's placement for the first) to its own.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from mercato.chassis.telemetry import SLOW_CHECKOUT, keep_slow
from mercato.services.orders.domain.events import OrderCancelled, OrderConfirmed, Recorded
from mercato.services.orders.domain.order import Order, Status
from mercato.services.orders.domain.saga import FORWARD, CheckoutSaga

CHECKOUT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTCOMES = {"done": "ok", "rejected": "rejected", "unknown": "given_up"}
Finished = dict[str, str | None]  # forward step -> when its outcome was saved


class CheckoutMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.checkouts = Counter(
            "mercato_checkouts", "Checkouts ended: confirmed, or cancelled with its reason",
            ["outcome", "reason", "mode"], registry=registry)
        self.duration = Histogram(
            "mercato_checkout_duration_seconds", "From an order's placement to its "
            "confirmation or cancellation", ["outcome", "mode"], buckets=CHECKOUT_BUCKETS,
            registry=registry)
        self.steps = Histogram(
            "mercato_saga_step_duration_seconds", "A checkout step, from its first attempt "
            "to its outcome (ok, rejected, given_up)", ["step", "outcome", "mode"],
            buckets=STEP_BUCKETS, registry=registry)

    def committed(self, order: Order, saga: CheckoutSaga, changes: list[Recorded],
                  before: Finished) -> None:
        """A save has committed: ``order`` as it was before ``changes``, ``saga`` as saved,
        ``before`` the steps' outcomes as they were before this save (``finished``)."""
        mode = saga.mode
        for step in FORWARD:
            rec = saga.records.get(str(step))
            if rec is None or rec.finished_at is None or before.get(str(step)):
                continue
            start = rec.started_at if mode != "choreography" else _chain_start(saga, order,
                                                                               step)
            self.steps.labels(step.value, OUTCOMES.get(rec.state, rec.state),
                              mode).observe(_seconds(start, rec.finished_at))
        if order.status is not Status.PENDING:
            return  # a confirmed order cancelled later: its checkout was counted then
        for change in changes:
            if isinstance(change.event, OrderConfirmed | OrderCancelled):
                confirmed = isinstance(change.event, OrderConfirmed)
                outcome = "confirmed" if confirmed else "cancelled"
                reason = "" if confirmed else change.event.reason
                self.checkouts.labels(outcome, reason, mode).inc()
                seconds = _seconds(order.created_at, change.at)
                self.duration.labels(outcome, mode).observe(seconds)
                if seconds > SLOW_CHECKOUT:  # kept even when its trace is not sampled
                    keep_slow("checkout", int(_moment(order.created_at).timestamp() * 1e9),
                              {"mercato.order_id": order.id, "mercato.saga.mode": mode,
                               "mercato.checkout.outcome": outcome,
                               "mercato.checkout.reason": reason})
                return


def finished(saga: CheckoutSaga) -> Finished:
    """When each forward step's outcome was saved, as the saga stands now."""
    return {str(s): rec.finished_at for s in FORWARD if (rec := saga.records.get(str(s)))}


@cache
def checkout_metrics() -> CheckoutMetrics:
    """The process's own, in the default registry (made on first use, not at import)."""
    return CheckoutMetrics()


def _chain_start(saga: CheckoutSaga, order: Order, step) -> str:
    earlier = [rec.finished_at for s in FORWARD[:FORWARD.index(step)]
               if (rec := saga.records.get(str(s))) and rec.finished_at]
    return max(earlier, key=_moment, default=order.created_at)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _seconds(start: str | None, end: str) -> float:
    if not start:
        return 0.0
    return max(0.0, (_moment(end) - _moment(start)).total_seconds())
