"""The checkout as a choreography (MERCATO_SAGA_MODE=choreography, docs/choreography.md):
the same journeys as the orchestration give the same API answers and order history (the
journey tests themselves run again here, against a choreographed platform), and what only
this mode has: the saga row as a record of what orders heard, and the card token sealed in
the stream. On both stacks (tests/system/stacks.py): the module's ``stack`` is a
choreographed platform on each, and the journeys imported here run on it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.system.platform import Platform
from tests.system.shared import SharedPlatforms
from tests.system.stacks import STACKS
from tests.system.test_checkout_journey import (  # noqa: F401 - collected again, here
    test_a_declined_card_cancels_the_order_and_releases_all_stock,
    test_a_failing_provider_cancels_with_payment_unavailable_after_bounded_retries,
    test_a_good_card_confirms_the_order_and_moves_stock_to_sold,
    test_a_provider_slower_than_its_timeout_cancels_with_payment_unavailable,
    test_an_order_from_the_cart_uses_the_cart_items_at_catalog_prices,
    test_an_undeliverable_address_cancels_and_voids_the_authorization,
    test_cancelling_a_confirmed_order_refunds_it_and_returns_its_stock,
    test_many_concurrent_buyers_for_a_few_units_confirm_exactly_that_many,
    test_the_customer_is_notified_of_confirmation_and_cancellation,
    test_the_same_idempotency_key_returns_the_same_order_and_a_new_body_is_refused,
)
from tests.system.test_read_models import (  # noqa: F401
    test_list_detail_and_summary_after_a_confirmed_and_a_cancelled_order,
)
from tests.system.test_traces import (  # noqa: F401
    test_a_confirmed_orders_trace_crosses_every_service_through_http_and_events,
)
from tests.system.test_verify import (  # noqa: F401
    FORWARD,
    place,
    saga,
    test_after_good_declined_and_refunded_orders_every_invariant_holds,
)

# The choreographed platform of each stack, shared with test_units_per_customer's
# (tests/system/shared.py). Its settings besides the saga mode are for that module's short
# freeze of payments: a registry entry outlives it (TTL 60 s) and the liveness checks do
# not restart it; they change nothing while every process answers, as here.
CHOREOGRAPHED = {"embedded": "choreography", "production": "choreography-production"}

pytestmark = pytest.mark.shared_platform(by="stack", keys=CHOREOGRAPHED)


def choreographed(shared_platforms: SharedPlatforms, stack: str) -> Platform:
    """The shared choreographed platform on ``stack``."""
    return shared_platforms.get(CHOREOGRAPHED[stack], stack,
                                MERCATO_SAGA_MODE="choreography",
                                MERCATO_REGISTRY_TTL="60", MERCATO_LIVENESS_FAILURES="30")


@pytest.fixture(scope="module", params=STACKS)
def stack(request, shared_platforms) -> Platform:
    """A choreographed platform on each stack in turn (replaces conftest's ``stack``, so
    the imported journeys run on it too)."""
    return choreographed(shared_platforms, request.param)


@pytest.fixture(scope="module")
def platform(stack: Platform) -> Platform:
    """The imported tests that take ``platform`` get the module's stack too."""
    return stack


def test_the_saga_row_records_each_step_as_orders_heard_it(platform: Platform):
    product = platform.new_product(stock=2)
    token, _ = platform.new_customer()
    order_id = place(platform, token, product["id"], 1, "tok_ok")
    assert platform.wait_terminal(token, order_id)["status"] == "confirmed"

    # The commit confirms the order; PaymentCaptured comes from another stream and may be
    # heard a moment later: wait (bounded) until orders has heard all five steps.
    deadline = time.monotonic() + 15
    body = saga(platform, order_id).json()
    while len(body["steps"]) < len(FORWARD) and time.monotonic() < deadline:
        time.sleep(0.1)
        body = saga(platform, order_id).json()

    assert (body["mode"], body["phase"], body["reason"]) == ("choreography", "confirmed", None)
    assert sorted(s["name"] for s in body["steps"]) == sorted(FORWARD)
    assert all(s["state"] == "done" and s["finished_at"] for s in body["steps"])


def test_a_called_off_checkout_is_cancelled_after_all_three_participants_undid_it(
        platform: Platform):
    product = platform.new_product(stock=2)
    token, _ = platform.new_customer()
    order_id = place(platform, token, product["id"], 1, "tok_decline")
    order = platform.wait_terminal(token, order_id)
    assert (order["status"], order["reason"]) == ("cancelled", "payment_declined")

    steps = {s["name"]: s for s in saga(platform, order_id).json()["steps"]}

    assert steps["authorize_payment"]["state"] == "rejected"
    assert {name: steps[name]["detail"] for name in
            ("inventory_undone", "payment_undone", "shipping_undone")} == {
        "inventory_undone": "released", "payment_undone": "nothing",
        "shipping_undone": "nothing"}
    cancelled_at = order["history"][-1]["at"]
    assert all(steps[n]["finished_at"] <= cancelled_at
               for n in ("inventory_undone", "payment_undone", "shipping_undone"))


def test_the_card_token_never_reaches_the_event_streams_in_clear(platform: Platform):
    product = platform.new_product(stock=1)
    token, _ = platform.new_customer()
    order_id = place(platform, token, product["id"], 1, "tok_ok")
    assert platform.wait_terminal(token, order_id)["status"] == "confirmed"

    stores = [d for d in Path(platform.data_dir).iterdir()  # nats, or nats-cluster/<node>
              if d.is_dir() and d.name.startswith("nats")]
    stored = b"".join(f.read_bytes() for d in stores for f in d.rglob("*") if f.is_file())
    assert b"sealed_card_token" in stored  # the OrderPlaced events are there, sealed
    assert b"tok_ok" not in stored
