"""Token buckets in Redis, shared by every gateway replica that points at the same server.

One ``EVALSHA`` per request: a Lua script refills and takes from all of the request's
buckets atomically (each bucket a hash ``{v: tokens, t: ms}`` whose TTL runs out when it
would be full again, so idle keys vanish by themselves). The time is Redis's own
(``TIME``) so replicas with drifting clocks agree, unless a test passes its own clock.

Redis unreachable or slow (past ``timeout``): the request goes through (fail open), a
warning is logged at most every ``log_every`` seconds with the count let through, and
Redis is not asked again for ``pause`` seconds, so a dead server costs nothing per request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError

from mercato.chassis.logging import get_logger
from mercato.gateway.ratelimit_local import Check, Denied

log = get_logger(__name__)
FAIL_OPEN = Counter("mercato_gateway_rate_limit_fail_open_total",
                    "Requests let through unchecked because Redis did not answer")

# KEYS: the buckets. ARGV[1]: now in ms, or "" for Redis's clock; then rate (tokens/s)
# and burst per key. Returns {0, 0} when taken, else {index of the slowest bucket (1-based),
# ms until it holds a token}.
TAKE = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local levels, worst, wait = {}, 0, 0
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local s = redis.call('HMGET', KEYS[i], 'v', 't')
  local level = burst
  if s[1] then
    level = math.min(burst, tonumber(s[1]) + math.max(0, now - tonumber(s[2])) * rate / 1000)
  end
  levels[i] = level
  if level < 1 then
    local w = (1 - level) * 1000 / rate
    if w > wait then worst, wait = i, w end
  end
end
if worst > 0 then return {worst, math.ceil(wait)} end
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 'v', tostring(levels[i] - 1), 't', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - levels[i] + 1) * 1000 / rate) + 1000)
end
return {0, 0}
"""


class RedisBuckets:
    def __init__(self, url: str, *, prefix: str = "mercato:rl:", timeout: float = 0.1,
                 pause: float = 1.0, log_every: float = 10.0,
                 clock: Callable[[], float] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.prefix = prefix
        self.pause, self.log_every = pause, log_every
        self._clock = clock
        self._monotonic = monotonic
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout,
                                              socket_connect_timeout=timeout)
        self._take = self._redis.register_script(TAKE)
        self._skip_until = 0.0
        self._logged_at = -math.inf
        self._let_through = 0

    async def take(self, checks: Sequence[Check]) -> Denied | None:
        now = self._monotonic()
        if now < self._skip_until:
            return self._fail_open(now, None)
        keys = [self.prefix + c.key for c in checks]
        args: list[object] = [str(int(self._clock() * 1000)) if self._clock else ""]
        for c in checks:
            args += [repr(c.limit.rate), c.limit.burst]
        try:
            worst, wait_ms = await self._take(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._skip_until = now + self.pause
            return self._fail_open(now, exc)
        if worst == 0:
            return None
        return Denied(checks[worst - 1], int(wait_ms) / 1000)

    def _fail_open(self, now: float, exc: BaseException | None) -> None:
        FAIL_OPEN.inc()
        self._let_through += 1
        if now - self._logged_at >= self.log_every:
            log.warning("rate_limit_redis_unavailable", redis=_safe(self.url),
                        error=repr(exc) if exc else "paused after an earlier error",
                        let_through=self._let_through, pause_s=self.pause)
            self._logged_at, self._let_through = now, 0
        return None

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("rate_limit_redis_unavailable", redis=_safe(self.url),
                        error=repr(exc), let_through="all until it answers")
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def _safe(url: str) -> str:
    """The URL without a password, for logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url
