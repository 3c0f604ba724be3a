"""What each domain error of orders answers (docs/internal-transport.md §1).

The kinds are the API's published ones. An order's rules answer 409 ``order-conflict``
unless a more particular one says otherwise: a shipped order cannot be cancelled
(``order-shipped``, its status), a cancelled one is ``already-cancelled``, the units
limit names the product, what fits now and when more frees up (``units-limit``: no
Retry-After, retrying soon cannot help; docs/checkout.md §9). An order that cannot be
placed as asked is a 422 (kind: the status's own, ``unknown-product`` with the ``field``).
Load shedding answers with a Retry-After of the error's ``retry_after``. The shared
``NotFound`` (404) and ``DependencyUnavailable`` (503: the catalog or the cart cannot
price the order) answer themselves.
"""

from __future__ import annotations

from mercato.chassis.clock import iso
from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.orders.domain.limits import UnitsLimitExceeded
from mercato.services.orders.domain.order import (
    AlreadyShipped,
    InvalidOrder,
    NotRefundable,
    OrderError,
)
from mercato.services.orders.domain.refusals import (
    AlreadyCancelled,
    CheckoutBusy,
    IdempotencyKeyReused,
    TooManyCheckouts,
    UnknownProduct,
)


def _units_limit(e: UnitsLimitExceeded) -> dict:
    return {"product_id": e.product_id, "limit": e.limit, "held": e.held,
            "requested": e.requested, "available": e.available,
            "frees_at": iso(e.frees_at) if e.frees_at else None}


ERRORS = ErrorTable({
    UnitsLimitExceeded: Refusal(409, "units-limit", facts=_units_limit,
                                title="Units limit reached"),
    AlreadyShipped: Refusal(409, "order-shipped", title="Order already shipped",
                            facts=lambda e: {"order_status": e.status.value}),
    AlreadyCancelled: Refusal(409, "already-cancelled"),
    NotRefundable: Refusal(409, "not-refundable", title="Order not refundable"),
    UnknownProduct: Refusal(422, "unknown-product", facts=lambda e: {"field": e.field}),
    InvalidOrder: Refusal(422),  # kind: the status's phrase
    OrderError: Refusal(409, "order-conflict"),
    IdempotencyKeyReused: Refusal(422, "idempotency-key-reused"),
    CheckoutBusy: Refusal(503, "checkout-busy"),
    TooManyCheckouts: Refusal(429, "too-many-checkouts"),
})
