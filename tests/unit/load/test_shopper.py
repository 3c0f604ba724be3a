"""One session against a fake transport (no network): the requests it sends, what it
counts, and how it follows an order to its end or gives up."""

from __future__ import annotations

import contextlib

from mercato.load.plan import SessionPlan
from mercato.load.shopper import Api, Customer, StepFailed, run_session
from mercato.load.stats import PLACE, Stats


class FakeResponse:
    def __init__(self, status: int, body) -> None:
        self.status, self.body = status, body

    async def json(self, content_type=None):
        return self.body


class FakeHttp:
    """Answers by (method, path); order reads walk through ``statuses``."""

    def __init__(self, statuses: list[str], place_status: int = 202, cancel_status=202):
        self.sent: list[tuple[str, str, dict]] = []
        self.statuses, self.place_status, self.cancel_status = statuses, place_status, \
            cancel_status

    @contextlib.asynccontextmanager
    async def request(self, method, path, headers=None, **kwargs):
        self.sent.append((method, path, kwargs))
        if method == "POST" and path == "/api/v1/orders":
            yield FakeResponse(self.place_status, {"id": "o1", "status": "pending"})
        elif path.endswith("/cancel"):
            yield FakeResponse(self.cancel_status, {})
        elif path == "/api/v1/orders/o1":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            yield FakeResponse(200, {"id": "o1", "status": status, "reason": (
                "customer_request" if status == "cancelled" else None)})
        elif method == "DELETE":
            yield FakeResponse(204, None)
        else:
            yield FakeResponse(200, {"items": []})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


PLAN = SessionPlan(1, 0, "kitchen", "mug", "p1", (("p1", 2), ("p2", 1)), from_cart=True,
                   card="tok_decline", cancel=True)
CUSTOMER = Customer("a@x", "pw", token="t", issued=0.0)


async def test_a_session_shops_checks_out_cancels_and_follows_the_order():
    http, stats, clock = FakeHttp(["pending", "pending", "cancelled"]), Stats(), Clock()
    await run_session(Api(http, stats, clock), PLAN, CUSTOMER, sleep=clock.sleep)
    calls = [(m, p) for m, p, _ in http.sent]
    assert calls[:7] == [
        ("GET", "/api/v1/catalog/products"), ("GET", "/api/v1/catalog/products"),
        ("GET", "/api/v1/catalog/products/p1"), ("DELETE", "/api/v1/cart"),
        ("PUT", "/api/v1/cart/items/p1"), ("PUT", "/api/v1/cart/items/p2"),
        ("POST", "/api/v1/orders")]
    assert http.sent[0][2]["params"] == {"limit": "20", "category": "kitchen"}
    assert http.sent[1][2]["params"] == {"q": "mug"}
    order = http.sent[6][2]["json"]
    assert order["from_cart"] is True and "items" not in order
    assert order["payment"] == {"card_token": "tok_decline"}
    assert calls[7] == ("POST", "/api/v1/orders/o1/cancel")
    assert calls[8:] == [("GET", "/api/v1/orders/o1")] * 3
    snap = stats.snapshot(1.0)
    assert snap["orders"]["placed"] == 1 and snap["orders"]["cancelled"] == {
        "customer_request": 1}
    assert snap["error_count"] == 0 and snap["latency_ms"][PLACE]["count"] == 1
    assert stats.timeline == [(0.0, 0.5)]  # sent at 0, seen cancelled on the third read


async def test_an_order_still_pending_after_the_bound_is_counted_pending():
    http, stats, clock = FakeHttp(["pending"]), Stats(), Clock()
    plan = SessionPlan(2, 0, None, None, "p1", (("p1", 1),))
    await run_session(Api(http, stats, clock), plan, CUSTOMER, follow_timeout=3.0,
                      sleep=clock.sleep)
    assert stats.pending == 1 and stats.confirmed == 0
    assert stats.timeline == [(0.0, None)]  # never seen terminal
    assert http.sent[3][2]["json"]["items"] == [{"product_id": "p1", "quantity": 1}]
    reads = sum(p == "/api/v1/orders/o1" for _, p, _ in http.sent)
    assert 6 <= reads <= 10  # every 0.2 s backing off to 0.5 s, for 3 s


async def test_a_refused_checkout_ends_the_session_with_its_error_counted():
    http, stats, clock = FakeHttp(["pending"], place_status=429), Stats(), Clock()
    plan = SessionPlan(3, 0, None, None, "p1", (("p1", 1),))
    try:
        await run_session(Api(http, stats, clock), plan, CUSTOMER, sleep=clock.sleep)
    except StepFailed:
        pass
    else:
        raise AssertionError("the session went on after a 429")
    assert stats.errors == {"rate-limited": 1} and stats.placed == 0


async def test_a_late_cancel_is_counted_not_an_error():
    http, stats, clock = FakeHttp(["confirmed"], cancel_status=409), Stats(), Clock()
    await run_session(Api(http, stats, clock), PLAN, CUSTOMER, sleep=clock.sleep)
    assert stats.cancel_refused == 1 and stats.confirmed == 1 and not stats.errors


async def test_a_timeout_is_counted_by_its_class():
    class Hanging(FakeHttp):
        @contextlib.asynccontextmanager
        async def request(self, method, path, headers=None, **kwargs):
            raise TimeoutError
            yield

    stats = Stats()
    plan = SessionPlan(4, 0, None, None, "p1", (("p1", 1),))
    try:
        await run_session(Api(Hanging([]), stats, Clock()), plan, CUSTOMER)
    except StepFailed:
        pass
    assert stats.errors == {"TimeoutError": 1}
