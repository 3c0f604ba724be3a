"""The order's life after its confirmation with a choreographed checkout
(MERCATO_SAGA_MODE=choreography): the same tests as test_order_lifecycle, collected again
against a choreographed platform (shared with test_loyalty's choreographed runs), since
shipped and delivered follow the courier's events in either mode."""

from __future__ import annotations

import pytest

from tests.system.platform import Platform
from tests.system.test_order_lifecycle import (  # noqa: F401 - collected again, here
    FAST_COURIER,
    fast_courier,
    test_a_paid_order_is_shipped_then_delivered_and_the_customer_told_both,
    test_after_delivered_and_cancelled_orders_verify_holds_the_lifecycle_invariant,
    test_cancelling_a_shipped_order_is_refused_with_a_409_and_changes_nothing,
    test_declined_and_cancelled_orders_never_ship,
)

pytestmark = pytest.mark.shared_platform(FAST_COURIER["embedded", "choreography"])


@pytest.fixture(scope="module")
def stack(shared_platforms) -> Platform:
    """The imported tests' platform: choreographed, a fast courier, the embedded stack
    (test_choreography runs the choreography's journeys on the production stack too)."""
    return fast_courier(shared_platforms, "embedded", "choreography")
