"""What each domain error of payments answers (docs/internal-transport.md §1).

The kinds are the API's published ones. The orchestrator reads ``payment_status`` from an
``invalid-transition`` of a void or refund (captured: refund instead; refunded or failed:
nothing left to undo), so those facts stay exactly these. The shared ``NotFound`` (404
``not-found``), ``DependencyUnavailable`` (503 ``provider-unavailable``, ``Retry-After``)
and ``DependencyTimedOut`` (504 ``provider-timeout``, no ``Retry-After``) answer
themselves with the kind and retry the handler gives them.
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.payments.domain import (
    AlreadyCancelled,
    CardDeclined,
    ChangedMeanwhile,
    IllegalTransition,
    InvalidPayment,
    ProviderRefused,
    RequestMismatch,
)

# The facts (the problem's extra members) are the ones each error carries: payment_id,
# and the declined card's reason or the payment's status where there is one.
ERRORS = ErrorTable({
    CardDeclined: Refusal(402, "payment-declined"),
    AlreadyCancelled: Refusal(409, "already-cancelled"),
    IllegalTransition: Refusal(409, "invalid-transition"),
    ChangedMeanwhile: Refusal(409, "invalid-transition"),
    RequestMismatch: Refusal(422, "idempotency-mismatch"),
    InvalidPayment: Refusal(422),  # kind: the status's phrase, as it always was
    ProviderRefused: Refusal(502, "provider-refused"),
})
