"""Money moved by payments, per currency, in the currency's minor unit (cents): what was
captured and what was refunded. Counted by the process whose transaction stored the
transition, after it committed, so a repeat or a transition another instance stored first
counts nothing; summed over instances (``sum by (currency)``) it is the platform's total
since each process started, and ``increase()`` over a window is what moved in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from mercato.services.payments.domain import Payment, Status


@dataclass
class MoneyMetrics:
    captured: Counter
    refunded: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> MoneyMetrics:
        return cls(
            Counter("mercato_payments_captured_amount", "Money captured, in minor units of "
                    "the currency", ["currency"], registry=registry),
            Counter("mercato_payments_refunded_amount", "Money refunded, in minor units of "
                    "the currency", ["currency"], registry=registry))

    def moved(self, payment: Payment) -> None:
        """``payment`` was just stored in its new status."""
        if payment.status is Status.CAPTURED:
            self.captured.labels(payment.currency).inc(payment.amount)
        elif payment.status is Status.REFUNDED:
            self.refunded.labels(payment.currency).inc(payment.amount)


@cache
def money_metrics() -> MoneyMetrics:
    """The process's own, in the default registry (made on first use, not at import)."""
    return MoneyMetrics.create()
