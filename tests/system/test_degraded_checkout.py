"""Checkout while payments is frozen (SIGSTOP): orders reaches payments through its
ServiceClient (breaker and bulkhead per upstream) and the saga waits for an unreachable
participant until the step's deadline (MERCATO_SAGA_STEP_DEADLINE, 8 s here). One freeze
outlasts the deadline of the orders placed first and not of those placed last: the first
end cancelled with payment_unavailable, the last confirmed once payments runs again, none
stays pending, and `mercato verify` finds nothing charged twice and money conserved —
though payments, on waking, still handles the authorizations queued for the orders the
saga had already given up on (the void's tombstone meets them)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.system.platform import Platform, make_platform
from tests.system.test_verify import INVARIANTS, place, saga, verify

DEADLINE = 8  # seconds: the saga's step deadline on this platform
EARLY, LATE = 4, 3  # orders placed at the start of the freeze / near its end
GAVE_UP = "payment_unavailable"  # the reason of a saga that gave up on the authorization


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    # A frozen payments keeps its registry entry (TTL 60 s); orders' breaker for it opens
    # after 3 silent calls and probes again after 1 s, so it is closed soon after the thaw.
    p = make_platform(tmp_path_factory.mktemp("degraded"), MERCATO_REGISTRY_TTL="60",
                      MERCATO_SAGA_STEP_DEADLINE=str(DEADLINE), MERCATO_CALL_TIMEOUT="3.0",
                      MERCATO_BREAKER_FAILURES="3", MERCATO_BREAKER_OPEN_SECONDS="1",
                      # the freeze is deliberate and outlasts 3 missed liveness checks
                      # (~12 s), after which `mercato up` would kill payments
                      MERCATO_LIVENESS_FAILURES="30")
    p.start()
    yield p
    assert p.stop() == 0


def authorize_record(p: Platform, order_id: str) -> tuple[dict, dict]:
    r = saga(p, order_id)
    assert r.status_code == 200, r.text
    body = r.json()
    (step,) = [s for s in body["steps"] if s["name"] == "authorize_payment"] or [{}]
    return body, step


def wait_all(p: Platform, order_ids: list[str], predicate, timeout: float, what: str) -> None:
    """Poll each order's saga (GET /api/v1/ops/sagas/{id}) until ``predicate`` holds."""
    left = set(order_ids)
    deadline = time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        left = {o for o in left if not predicate(*authorize_record(p, o))}
        time.sleep(0.2)
    assert not left, f"{what}: not yet for {sorted(left)} after {timeout}s: " + str(
        [authorize_record(p, o) for o in sorted(left)])


def test_checkouts_during_a_payments_freeze_end_as_designed(platform: Platform):
    product = platform.new_product(stock=EARLY + LATE + 2, price=700)
    token, _ = platform.new_customer()
    pid = platform.pid_of("payments")
    os.kill(pid, signal.SIGSTOP)
    try:
        early = [place(platform, token, product["id"], 1, "tok_ok") for _ in range(EARLY)]
        # Their authorization times out, then is refused by orders' open breaker, then
        # the deadline passes: the saga gives up and starts compensating (the void waits
        # for payments, so the phase stays there while it is frozen).
        wait_all(platform, early,
                 lambda s, _a: (s["phase"], s["reason"]) == ("compensating", GAVE_UP),
                 DEADLINE + 60, "gave up on the authorization")
        late = [place(platform, token, product["id"], 1, "tok_ok") for _ in range(LATE)]
        wait_all(platform, late,
                 lambda s, a: s["step"] == "authorize_payment" and a.get("attempts", 0) >= 1,
                 60, "tried the authorization")
        still = [authorize_record(platform, o)[0]["phase"] for o in early + late]
        assert still == ["compensating"] * EARLY + ["forward"] * LATE
    finally:
        os.kill(pid, signal.SIGCONT)

    outcomes = {o: platform.wait_terminal(token, o, timeout=60) for o in early + late}
    assert [(outcomes[o]["status"], outcomes[o]["reason"]) for o in early] == [
        ("cancelled", "payment_unavailable")] * EARLY
    assert [outcomes[o]["status"] for o in late] == ["confirmed"] * LATE
    for o in late:  # each authorized once, after at least one attempt that got no answer
        body, step = authorize_record(platform, o)
        assert (body["phase"], step["state"]) == ("confirmed", "done")
    for o in early:
        body, step = authorize_record(platform, o)
        assert (body["phase"], body["reason"], step["state"]) == (
            "cancelled", "payment_unavailable", "compensated"), body
        assert body["refunded"] is False  # authorized at most, never captured

    result = verify(platform, "--wait-idle", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for number, name in enumerate(INVARIANTS, 1):
        assert any(line.startswith(f"ok   {number}. {name}: ") for line in lines), lines
    assert platform.stock(product["id"]) == {
        "product_id": product["id"], "on_hand": EARLY + LATE + 2, "available": 2 + EARLY,
        "reserved": 0, "sold": LATE}
