"""What each domain error of shipping answers (docs/internal-transport.md §1).

The kinds are the published ones: the orchestrator reads ``already-cancelled`` on a
schedule and ``already-delivered`` on a cancel. ``NoTrackingNumber`` is a
``DependencyUnavailable`` and answers itself (503 ``service-unavailable``, Retry-After 1).
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.shipping.domain import (
    AlreadyCancelled,
    AlreadyDelivered,
    IdempotencyMismatch,
    NotDeliverable,
    ShippingError,
)

ERRORS = ErrorTable({
    AlreadyCancelled: Refusal(409, "already-cancelled"),  # facts: shipment_id
    AlreadyDelivered: Refusal(409, "already-delivered"),  # facts: shipment_id
    NotDeliverable: Refusal(409, "not-deliverable"),  # facts: country
    IdempotencyMismatch: Refusal(422, "idempotency-mismatch"),
    # any other broken rule (a blank address line, no items): 422 with the status's kind
    ShippingError: Refusal(422),
})
