"""What guards the calls to one service — its circuit breaker, bulkhead and retry budget —
and what those guards tell an operator: counts read at scrape time (``mercato_retries_total``
and the others, chassis/telemetry/call_metrics.py) and span events on the caller's span.

The events (``retry``, ``retry_budget_exhausted``, ``breaker_open``, ``bulkhead_full``) go
to whichever span is active when the call is made: the gateway's server span, a service's
request span, a saga step's span. They are only built when that span records, so a call
outside any sampled trace pays one context lookup, and only on those rare paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry import trace

from mercato.chassis.calls.breaker import CircuitBreaker
from mercato.chassis.calls.budget import RetryBudget
from mercato.chassis.calls.bulkhead import Bulkhead


@dataclass
class Guard:
    """The per-service state: its breaker, bulkhead and retry budget, and the retries
    made so far by the reason the attempt before failed (``refused``: never connected,
    ``timeout``, ``error``: dropped or broken, ``status``: answered 502/503/504)."""

    breaker: CircuitBreaker
    bulkhead: Bulkhead
    budget: RetryBudget
    retries: dict[str, int] = field(default_factory=dict)

    def retried(self, service: str, resend: int, reason: str, after: str) -> None:
        """Count a retry about to be sent, and say so on the active span."""
        self.retries[reason] = self.retries.get(reason, 0) + 1
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("retry", {"mercato.upstream.service": service,
                                     "http.request.resend_count": resend,
                                     "mercato.retry.reason": reason,
                                     "mercato.retry.after": after[:200]})


def note(event: str, service: str, **attributes: str | int | float) -> None:
    """A refusal on the active span: ``breaker_open``, ``bulkhead_full`` (the call was
    never sent) or ``retry_budget_exhausted`` (a failed attempt is the call's answer)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(event, {"mercato.upstream.service": service,
                               **{f"mercato.{k}": v for k, v in attributes.items()}})
