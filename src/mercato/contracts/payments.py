"""Events published by payments."""

from __future__ import annotations

from mercato.contracts.envelope import Event


class _PaymentEvent(Event):
    SOURCE = "payments"
    payment_id: str
    order_id: str
    customer_id: str
    amount: int
    currency: str


class PaymentAuthorized(_PaymentEvent):
    pass


class PaymentFailed(_PaymentEvent):
    """The provider declined the card."""

    reason: str = "declined"


class PaymentCaptured(_PaymentEvent):
    pass


class PaymentVoided(_PaymentEvent):
    pass


class PaymentRefunded(_PaymentEvent):
    pass
