"""What each domain error of inventory answers (docs/internal-transport.md §1).

The kinds are the API's published ones. A ``ReservationConflict`` names its own kind
(``reservation-expired``, ``not-reserved``, ``already-committed``, ``already-cancelled``,
``not-committed``, ...), so its refusal leaves the kind to the error. The shared
``NotFound`` (404 ``not-found``) and ``DependencyUnavailable`` (503, the kind it names,
``Retry-After``) answer themselves. ``StockInvariantBroken`` is a bug, not a refusal: it is
absent, and answers 500.
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.inventory.domain import (
    AlreadyCancelled,
    InvalidRequest,
    OutOfStock,
    RequestMismatch,
    ReservationConflict,
    WouldGoNegative,
)

ERRORS = ErrorTable({
    InvalidRequest: Refusal(422, "invalid-request"),
    RequestMismatch: Refusal(422, "idempotency-mismatch"),
    WouldGoNegative: Refusal(409, "insufficient-stock", facts=lambda e: {
        "product_id": e.product_id, "delta": e.delta, "available": e.available}),
    OutOfStock: Refusal(409, "out-of-stock", facts=lambda e: {"product_ids": e.product_ids}),
    AlreadyCancelled: Refusal(409, "already-cancelled"),
    ReservationConflict: Refusal(409),  # its kind: the conflict's own
})
