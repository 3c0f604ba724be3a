"""What each domain error of the cart answers (chassis/errors.py).

A product not in the catalog is the shared ``NotFound`` (404 ``not-found``); prices the
catalog cannot give now are the shared ``DependencyUnavailable`` (503
``catalog-unavailable``, ``Retry-After: 1``).
"""

from __future__ import annotations

from mercato.chassis.errors import ErrorTable, Refusal
from mercato.services.cart.domain import CartFull, CurrencyMismatch, InvalidQuantity

ERRORS = ErrorTable({
    InvalidQuantity: Refusal(422, "invalid-request"),
    CurrencyMismatch: Refusal(422, "currency-mismatch", facts=lambda e: {
        "product_id": e.product_id, "currency": e.product_currency,
        "cart_currency": e.cart_currency}),
    CartFull: Refusal(409, "cart-full"),
})
