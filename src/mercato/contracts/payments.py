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
    """The provider approved the card: the amount is held, not yet taken."""


class PaymentFailed(_PaymentEvent):
    """The provider declined the card."""

    reason: str = "declined"


class PaymentCaptured(_PaymentEvent):
    """The held amount was taken: the customer has paid."""


class PaymentVoided(_PaymentEvent):
    """An authorization was released before capture: nothing was taken."""


class PaymentRefunded(_PaymentEvent):
    """A captured payment was given back in full."""


class PaymentCheckoutUndone(Event):
    """Payments' part of a cancelled checkout is undone. ``outcome``: "voided", "refunded",
    or "nothing" (never authorized, or declined; a late authorization will be refused)."""

    SOURCE = "payments"
    order_id: str
    payment_id: str
    outcome: str
