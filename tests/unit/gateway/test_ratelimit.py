"""Token buckets with a clock the test moves: refill, burst, Retry-After, per user vs per
address, logins. Each behaviour runs on the in-process store and on Redis (the system
Redis at 127.0.0.1:6379, under a key prefix of the test's own, deleted afterwards)."""

from __future__ import annotations

import pytest

from mercato.chassis.security import Principal
from mercato.gateway.errors import Reply
from mercato.gateway.ratelimit_local import Check, Limit, LocalBuckets
from tests.unit.gateway.test_ratelimit_support import Clock, RedisPrefix, limiter

ADA, BOB = Principal("ada", frozenset({"customer"})), Principal("bob", frozenset({"customer"}))
HOME, CAFE = ("10.0.0.1", 5000), ("10.0.0.2", 5000)
LOGIN = ("POST", "/api/v1/identity/token")


@pytest.fixture(params=["process", "redis"])
def make(request):
    """``make(**limits)``: a limiter on this test's store, and the clock it reads."""
    prefix = RedisPrefix() if request.param == "redis" else None
    clock = Clock()
    made = []

    def build(**limits):
        made.append(limiter(request.param, clock, prefix, **limits))
        return made[-1]

    build.clock = clock
    yield build
    if prefix is not None:
        prefix.clean()


async def outcome(limits, method="GET", path="/api/v1/catalog/products", client=HOME,
                  principal=None, body=b"") -> str:
    """'ok', or the 429's Retry-After and the limit its detail names."""
    try:
        await limits.admit(method, path, client, principal, body)
    except Reply as r:
        assert r.status == 429
        name = r.detail.removeprefix("rate limit ").split(" (")[0]
        return f"429 retry {r.headers['Retry-After']} {name}"
    return "ok"


async def test_a_burst_is_admitted_then_refused_until_the_bucket_refills(make):
    limits = make(rate_limit_per_client="2/s burst 3")
    assert [await outcome(limits) for _ in range(4)] == ["ok"] * 3 + [
        "429 retry 1 per client address"]
    make.clock.advance(0.5)  # one token back at 2/s
    assert [await outcome(limits) for _ in range(2)] == [
        "ok", "429 retry 1 per client address"]
    make.clock.advance(10)  # refills to the burst, not beyond
    assert [await outcome(limits) for _ in range(4)] == ["ok"] * 3 + [
        "429 retry 1 per client address"]


async def test_retry_after_is_the_whole_seconds_until_a_token(make):
    limits = make(rate_limit_per_client="3/min burst 1")
    assert await outcome(limits) == "ok"
    assert await outcome(limits) == "429 retry 20 per client address"
    make.clock.advance(12.5)
    assert await outcome(limits) == "429 retry 8 per client address"  # 7.5 s rounds up
    make.clock.advance(7.5)
    assert await outcome(limits) == "ok"


async def test_each_user_has_a_bucket_and_anonymous_callers_are_known_by_address(make):
    limits = make(rate_limit_per_user="1/min burst 2")
    for _ in range(2):
        assert await outcome(limits, principal=ADA) == "ok"
    assert await outcome(limits, principal=ADA) == "429 retry 60 per user"
    assert await outcome(limits, principal=BOB) == "ok"  # same address, another user
    assert await outcome(limits, client=CAFE, principal=ADA) == "429 retry 60 per user"
    for _ in range(2):
        assert await outcome(limits) == "ok"  # anonymous at HOME: not Ada's or Bob's bucket
    assert await outcome(limits) == "429 retry 60 per user"
    assert await outcome(limits, client=CAFE) == "ok"


async def test_the_address_limit_covers_every_user_behind_it_and_a_refusal_takes_nothing(make):
    limits = make(rate_limit_per_client="1/min burst 3", rate_limit_per_user="1/min burst 1")
    assert await outcome(limits, principal=ADA) == "ok"
    assert await outcome(limits, principal=ADA) == "429 retry 60 per user"
    # Ada's refused request took no token from the address: two are left for Bob and anon.
    assert await outcome(limits, principal=BOB) == "ok"
    assert await outcome(limits) == "ok"
    assert await outcome(limits, client=HOME, principal=Principal("cy", frozenset())) == (
        "429 retry 60 per client address")
    assert await outcome(limits, client=CAFE, principal=Principal("cy", frozenset())) == "ok"


async def test_logins_have_their_own_tighter_limit_per_address(make):
    limits = make(rate_limit_per_client="100/s burst 100", login_rate_limit="1/min burst 2")
    body = b'{"email": "a@example.com", "password": "x"}'
    assert [await outcome(limits, *LOGIN, body=body) for _ in range(3)] == [
        "ok", "ok", "429 retry 60 login per client address"]
    assert await outcome(limits) == "ok"  # other routes are not held back
    assert await outcome(limits, "POST", "/api/v1/identity/token/refresh") == "ok"
    assert await outcome(limits, *LOGIN, client=CAFE, body=body) == "ok"


async def test_logins_are_limited_per_email_from_any_address(make):
    limits = make(login_rate_limit_per_email="1/min burst 2")

    def login(email: str) -> bytes:
        return b'{"email": "%s", "password": "x"}' % email.encode()

    assert await outcome(limits, *LOGIN, client=HOME, body=login("ada@example.com")) == "ok"
    assert await outcome(limits, *LOGIN, client=CAFE, body=login(" Ada@Example.com")) == "ok"
    assert await outcome(limits, *LOGIN, client=("10.9.9.9", 1),
                         body=login("ada@example.com")) == "429 retry 60 login per email"
    assert await outcome(limits, *LOGIN, body=login("bob@example.com")) == "ok"
    # A body without an email (identity answers it with a 422) is not held per email.
    assert await outcome(limits, *LOGIN, body=b"not json") == "ok"


async def test_limits_set_to_off_admit_everything(make):
    limits = make()
    for _ in range(50):
        assert await outcome(limits, *LOGIN, principal=ADA,
                             body=b'{"email": "a@example.com"}') == "ok"


def test_the_in_process_table_forgets_full_buckets_and_stays_bounded():
    one = Limit(1.0, 1, "1/s burst 1")
    buckets = LocalBuckets(max_keys=4)
    for i, key in enumerate("abc"):
        assert buckets.take([Check(key, one, "t")], now=float(i) / 10) is None
    assert buckets.take([Check("d", one, "t")], now=1.9) is None
    # At 2.0 a, b and c are full again (nothing lost by forgetting them); d is not.
    assert buckets.take([Check("e", one, "t")], now=2.0) is None
    assert len(buckets) == 2
    assert buckets.take([Check("d", one, "t")], now=2.0).wait == pytest.approx(0.9)
    # A flood of distinct keys none of which is full: the table is cleared, not grown.
    flood = LocalBuckets(max_keys=4)
    for i in range(10):
        assert flood.take([Check(f"k{i}", one, "t")], now=5.0) is None
        assert len(flood) <= 4
