"""Shared by the rate-limit tests: a clock that moves only when told, limiters on either
store, and the Redis at 127.0.0.1:6379 under a key prefix of each test's own."""

from __future__ import annotations

from mercato.gateway.ratelimit import RateLimiter, RateLimitSettings
from mercato.gateway.ratelimit_redis import RedisBuckets
from tests.support.redis_server import REDIS_URL, RedisPrefix


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(store: str, clock: Clock, prefix: RedisPrefix | None = None,
            **limits: str) -> RateLimiter:
    """A limiter with the given limits (the others off) on the named store."""
    settings = RateLimitSettings(**{"rate_limit_per_client": "off",
                                    "rate_limit_per_user": "off", "login_rate_limit": "off",
                                    "login_rate_limit_per_email": "off", **limits})
    buckets = None
    if store == "redis":
        buckets = RedisBuckets(REDIS_URL, prefix=prefix.prefix, timeout=1.0, clock=clock)
    return RateLimiter(settings, redis=buckets, clock=clock)
