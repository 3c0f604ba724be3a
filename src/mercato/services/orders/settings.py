"""Orders' own settings (the chassis settings are shared by every service)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis import Settings
from mercato.services.orders.domain.limits import UnitsLimit


class Admission(TypedDict):
    """The handlers' limits on new orders (``Orders``' fields of the same names)."""

    max_in_flight: int
    max_in_flight_per_customer: int
    units_limit: UnitsLimit


class Saga(TypedDict):
    """How the saga runner retries a step (``SagaRunner``'s fields of the same names)."""

    max_attempts: int
    backoff: float
    step_deadline: float


class OrdersSettings(BaseSettings):
    """Read from ``MERCATO_*`` environment variables, once, by the composition root."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    # Seconds a forward step (but the confirmation) may take, all its attempts together,
    # before the saga gives up on it and compensates (docs/checkout.md §6).
    saga_step_deadline: float = Field(default=30.0, gt=0)
    # Checkouts in progress (sagas forward or compensating) past which a new order is
    # refused at once with a 503 and Retry-After (load shedding); 0: no limit.
    checkout_max_in_flight: int = Field(default=64, ge=0)
    # The same for one customer's checkouts (fairness: one account cannot fill the whole
    # limit above); past it, that customer's new order is a 429 with Retry-After; 0: none.
    checkout_max_in_flight_per_customer: int = Field(default=16, ge=0)
    # Units of one product one customer may hold in orders placed in the last 24 hours
    # and not cancelled (pending to delivered); past it the order is a 409 units-limit,
    # so one account cannot buy or hold a product's whole stock in a loop; 0: no limit.
    max_units_per_customer_per_product_per_day: int = Field(default=20, ge=0)
    # MERCATO_ORDER_RETURN_WINDOW: seconds after its delivery a customer may have an order
    # refunded (an admin may at any time); 14 days by default.
    order_return_window: float = Field(default=14 * 24 * 3600.0, gt=0)

    def return_window(self) -> timedelta:
        return timedelta(seconds=self.order_return_window)

    def saga(self, shared: Settings) -> Saga:
        """The runner's retries: attempts and backoff are the chassis' settings (payments'
        choreography retries a provider call with the same ones), the deadline is orders'."""
        return Saga(max_attempts=shared.saga_step_attempts, backoff=shared.saga_backoff,
                    step_deadline=self.saga_step_deadline)

    def admission(self) -> Admission:
        """The limits the handlers admit new orders within."""
        return Admission(max_in_flight=self.checkout_max_in_flight,
                         max_in_flight_per_customer=self.checkout_max_in_flight_per_customer,
                         units_limit=UnitsLimit(self.max_units_per_customer_per_product_per_day))
