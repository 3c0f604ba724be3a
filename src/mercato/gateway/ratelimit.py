"""Rate limits at the gateway: token buckets per client address, per user, and for logins.

Every request (but the gateway's own /health and /metrics) takes a token from the bucket
of its client address and from the bucket of its caller: the user (the verified token's
subject) on routes that need one, the address on public routes. A login (POST
/api/v1/identity/token) also takes one from the login bucket of its address and, when
its body names one, of its email (hashed). All of them or none: a refused request takes
nothing. Refused: 429 problem+json, ``Retry-After`` (whole seconds until a token) and a
detail naming the limit.

Buckets live in this process, or in Redis when ``MERCATO_REDIS_URL`` is set, so gateway
replicas share them (fail open when Redis does not answer). docs/rate-limits.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Counter
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato.chassis.logging import get_logger
from mercato.chassis.security import Principal
from mercato.gateway.errors import Reply
from mercato.gateway.ratelimit_local import Check, Denied, Limit, LocalBuckets, parse_limit

if TYPE_CHECKING:
    from mercato.gateway.ratelimit_redis import RedisBuckets

log = get_logger(__name__)
LIMITED = Counter("mercato_gateway_rate_limited_total", "Requests refused with a 429",
                  ["limit"])
LOGIN = ("POST", "/api/v1/identity/token")  # identity's sign-in route (gateway/policy.py)


class RateLimitSettings(BaseSettings):
    """``MERCATO_*`` settings of the limiter. The defaults sit well above what one gateway
    serves on a developer's machine (~1.4k req/s on 2 cores), so the platform's own tests
    and benchmarks never meet them; production sets its own (docs/rate-limits.md)."""

    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    redis_url: str | None = None
    rate_limit_per_client: str = "5000/s burst 10000"
    rate_limit_per_user: str = "2500/s burst 5000"
    login_rate_limit: str = "20/s burst 200"
    login_rate_limit_per_email: str = "30/min burst 30"
    rate_limit_redis_timeout: float = Field(default=0.1, gt=0)
    rate_limit_redis_prefix: str = "mercato:rl:"

    @field_validator("rate_limit_per_client", "rate_limit_per_user", "login_rate_limit",
                     "login_rate_limit_per_email")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_limit(value)
        return value

    @field_validator("redis_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class RateLimiter:
    """Builds a request's checks and answers 429 when one of its buckets is empty."""

    def __init__(self, settings: RateLimitSettings, *, redis: RedisBuckets | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_client = parse_limit(settings.rate_limit_per_client)
        self.per_user = parse_limit(settings.rate_limit_per_user)
        self.login = parse_limit(settings.login_rate_limit)
        self.login_email = parse_limit(settings.login_rate_limit_per_email)
        self.redis = redis
        self.local = LocalBuckets()
        self._clock = clock

    @classmethod
    def from_env(cls) -> RateLimiter:
        settings = RateLimitSettings()
        redis = None
        if settings.redis_url:  # redis is imported by the production profile only
            from mercato.gateway.ratelimit_redis import RedisBuckets

            redis = RedisBuckets(settings.redis_url, prefix=settings.rate_limit_redis_prefix,
                                 timeout=settings.rate_limit_redis_timeout)
        return cls(settings, redis=redis)

    def describe(self) -> dict[str, str]:
        def text(limit: Limit | None) -> str:
            return limit.text if limit else "off"

        return {"per_client": text(self.per_client), "per_user": text(self.per_user),
                "login": text(self.login), "login_per_email": text(self.login_email),
                "store": "redis" if self.redis else "process"}

    def checks(self, method: str, path: str, address: str,
               principal: Principal | None, body: bytes = b"") -> list[Check]:
        checks = []
        if self.per_client:
            checks.append(Check("c:" + address, self.per_client, "per client address"))
        if self.per_user:
            if principal is None:
                checks.append(Check("a:" + address, self.per_user, "per user"))
            else:
                checks.append(Check("u:" + principal.subject, self.per_user, "per user"))
        if method == LOGIN[0] and path == LOGIN[1]:
            if self.login:
                checks.append(Check("l:" + address, self.login, "login per client address"))
            email = _email(body) if self.login_email else None
            if email:
                checks.append(Check("e:" + email, self.login_email, "login per email"))
        return checks

    async def admit(self, method: str, path: str, client: tuple | list | None,
                    principal: Principal | None, body: bytes = b"") -> None:
        """Take this request's tokens, or raise ``Reply(429)``."""
        checks = self.checks(method, path, client[0] if client else "-", principal, body)
        if not checks:
            return
        if self.redis is None:
            denied = self.local.take(checks, self._clock())
        else:
            denied = await self.redis.take(checks)
        if denied is not None:
            raise refusal(denied)

    async def start(self) -> None:
        log.info("rate_limits", **self.describe())
        if self.redis is not None:
            await self.redis.ping()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()


def refusal(denied: Denied) -> Reply:
    LIMITED.labels(denied.check.name).inc()
    retry = max(1, math.ceil(denied.wait))
    limit = denied.check.limit
    return Reply(429, f"rate limit {denied.check.name} ({limit.text}) exceeded; "
                      f"retry in {retry} s", {"Retry-After": str(retry)})


def _email(body: bytes) -> str | None:
    """The login's email, trimmed, lower-cased and hashed (no addresses in Redis keys)."""
    try:
        email = json.loads(body).get("email")
    except (ValueError, AttributeError):
        return None
    if not isinstance(email, str) or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
