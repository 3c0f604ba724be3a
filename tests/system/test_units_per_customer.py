"""Business flows through the gateway (OWASP API6), against the running platform:

- one customer holds at most MERCATO_MAX_UNITS_PER_CUSTOMER_PER_PRODUCT_PER_DAY units of a
  product in the orders of a day that are not cancelled: past it, 409 units-limit naming
  the product, the limit and when more frees up, with nothing written (and no idempotency
  record: the same key is taken once the order fits), while another customer still buys
  the product; declined and cancelled orders do not count;
- no card token, in the clear or sealed, is left in orders' database file (nor payments')
  once checkouts have ended (confirmed, declined, cancelled after confirmation), in both
  saga modes, while a checkout not yet authorized still holds it (so the scan sees one).
"""

from __future__ import annotations

import os
import signal

import pytest

from mercato.chassis.identity.keys import secret_path
from mercato.chassis.sealing import CARD_TOKEN, Sealer
from tests.system.platform import Platform, running_platform, wait_for
from tests.system.stacks import STACKS, stack_env
from tests.system.test_choreography import CHOREOGRAPHED
from tests.system.test_choreography import choreographed as choreographed_platform
from tests.unit.orders.at_rest import card_data_at_rest, card_data_at_rest_postgres

LIMIT = 3
CARDS = {"tok_ok", "tok_decline"}


@pytest.fixture(scope="module", params=STACKS)
def stack(request) -> str:
    """The stack this module's platforms run on: each in turn."""
    return request.param


@pytest.fixture(scope="module")
def limited(stack, tmp_path_factory) -> Platform:
    with stack_env(stack) as env:
        yield from running_platform(
            tmp_path_factory, f"units-{stack}",
            MERCATO_MAX_UNITS_PER_CUSTOMER_PER_PRODUCT_PER_DAY=str(LIMIT),
            MERCATO_SAGA_STEP_DEADLINE="120", MERCATO_REGISTRY_TTL="60",
            MERCATO_LIVENESS_FAILURES="30", **env)


# The choreographed platforms are test_choreography's (tests/system/shared.py); the scans
# below read every order's row there, so they also find any card another test's ended
# checkout left behind.
pytestmark = pytest.mark.shared_platform(
    by=("stack", "mode"), keys={(stack, "choreographed"): key
                                for stack, key in CHOREOGRAPHED.items()})


@pytest.fixture(scope="module")
def choreographed(stack, shared_platforms) -> Platform:
    return choreographed_platform(shared_platforms, stack)


def place(p: Platform, token: str, product_id: str, quantity: int, card: str = "tok_ok",
          key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    with p.client(token) as c:
        return c.post("/api/v1/orders", headers=headers,
                      json=p.order_body(product_id, quantity, card=card))


def ended(p: Platform, token: str, answer, status: str, timeout: float = 60) -> dict:
    assert answer.status_code == 202, answer.text
    order = p.wait_terminal(token, answer.json()["id"], timeout=timeout)
    assert order["status"] == status, order
    return order


def listed(p: Platform, token: str) -> list[dict]:
    with p.client(token) as c:
        return c.get("/api/v1/orders", params={"limit": 100}).json()["items"]


def cancel(p: Platform, token: str, order_id: str) -> dict:
    with p.client(token) as c:
        r = c.post(f"/api/v1/orders/{order_id}/cancel")
        assert r.status_code == 202, r.text

        def cancelled() -> dict | None:
            order = c.get(f"/api/v1/orders/{order_id}").json()
            return order if order["status"] == "cancelled" else None

        return wait_for(cancelled, 60, f"order {order_id} cancelled")


def test_one_customer_is_stopped_at_the_limit_while_another_still_buys(limited: Platform):
    product = limited.new_product(stock=20)
    greedy, _ = limited.new_customer()
    other, _ = limited.new_customer()
    declined = ended(limited, greedy, place(limited, greedy, product["id"], 2,
                                            card="tok_decline"), "cancelled")
    assert declined["reason"] == "payment_declined"
    kept = ended(limited, greedy, place(limited, greedy, product["id"], LIMIT), "confirmed")

    refused = place(limited, greedy, product["id"], 1, key="one-more")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/units-limit")
    assert (problem["product_id"], problem["limit"], problem["held"], problem["requested"],
            problem["available"]) == (product["id"], LIMIT, LIMIT, 1, 0)
    assert problem["frees_at"] > kept["created_at"]
    assert "retry-after" not in refused.headers
    assert len(listed(limited, greedy)) == 2  # nothing written for the refusal

    ended(limited, other, place(limited, other, product["id"], LIMIT), "confirmed")

    assert cancel(limited, greedy, kept["id"])["reason"] == "customer_request"
    again = place(limited, greedy, product["id"], 1, key="one-more")  # the same key: taken
    ended(limited, greedy, again, "confirmed")
    assert limited.stock(product["id"])["sold"] == LIMIT + 1


def sealer_of(p: Platform) -> Sealer:
    return Sealer(secret_path(p.data_dir, "card-seal").read_text().strip(), CARD_TOKEN)


def card_data_in_orders(p: Platform, service: str = "orders") -> list[str]:
    url = p.env.get(f"MERCATO_{service.upper()}_DATABASE_URL")
    if url:  # the production stack: the service's PostgreSQL database
        return card_data_at_rest_postgres(url, CARDS, sealer_of(p))
    return card_data_at_rest(p.data_dir / service / f"{service}.db", CARDS, sealer_of(p))


@pytest.mark.parametrize("mode", ["limited", "choreographed"])
def test_no_card_token_is_left_in_orders_database_once_checkouts_end(request, mode, stack):
    p: Platform = request.getfixturevalue(mode)
    product = p.new_product(stock=10)
    buyer, _ = p.new_customer()
    pid = p.pid_of("payments")
    os.kill(pid, signal.SIGSTOP)  # a checkout that has not authorized yet still holds it
    try:
        waiting = place(p, buyer, product["id"], 1)
        assert waiting.status_code == 202, waiting.text  # written before the answer
        assert card_data_in_orders(p), "the scan sees a checkout's card before authorization"
    finally:
        os.kill(pid, signal.SIGCONT)
    ended(p, buyer, waiting, "confirmed", timeout=90)
    confirmed = ended(p, buyer, place(p, buyer, product["id"], 1), "confirmed")
    ended(p, buyer, place(p, buyer, product["id"], 1, card="tok_decline"), "cancelled")
    cancel(p, buyer, confirmed["id"])
    assert card_data_in_orders(p) == []
    # payments opens the card to authorize (choreographed: its intent kept it sealed)
    if stack == "embedded":
        assert (p.data_dir / "payments" / "payments.db").exists()
    assert card_data_in_orders(p, "payments") == []
