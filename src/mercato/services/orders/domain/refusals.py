"""What the orders service refuses besides the order's own rules (domain/order.py,
domain/limits.py): a request it cannot take as it is, a cancellation of a cancelled order,
and checkouts past what the platform or one customer may have in progress at once.
Framework-free; errors.py says what each answers."""

from __future__ import annotations

from mercato.chassis.errors import DomainError
from mercato.services.orders.domain.order import InvalidOrder, OrderError


class UnknownProduct(InvalidOrder):
    """A line of the order names a product the catalog does not know; ``field`` says
    which (``items[0].product_id``, ``cart[2].product_id``)."""

    def __init__(self, field: str, product_id: str) -> None:
        super().__init__(f"{field}: unknown product {product_id}")
        self.field, self.product_id = field, product_id


class AlreadyCancelled(OrderError):
    """A cancellation of an order that is cancelled already."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} is already cancelled")
        self.order_id = order_id


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key the customer used before, with another request body."""

    def __init__(self) -> None:
        super().__init__("Idempotency-Key was already used with a different request body")


class CheckoutBusy(DomainError):
    """As many checkouts are in progress as the platform takes at once
    (MERCATO_CHECKOUT_MAX_IN_FLIGHT); the client may try again in ``retry_after`` s."""

    retry_after = 1

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} checkouts are in progress, as many as this platform "
                         "takes at once (MERCATO_CHECKOUT_MAX_IN_FLIGHT); try again shortly")
        self.limit = limit


class TooManyCheckouts(DomainError):
    """The customer has as many checkouts in progress as one customer may have at once
    (MERCATO_CHECKOUT_MAX_IN_FLIGHT_PER_CUSTOMER); try again in ``retry_after`` s."""

    retry_after = 1

    def __init__(self, limit: int) -> None:
        super().__init__(f"you have {limit} checkouts in progress, as many as one "
                         "customer may have at once "
                         "(MERCATO_CHECKOUT_MAX_IN_FLIGHT_PER_CUSTOMER); try again shortly")
        self.limit = limit
