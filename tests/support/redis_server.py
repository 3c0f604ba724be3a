"""The system Redis (127.0.0.1:6379) for the tests that need one: a client, or the test
skipped with the reason when none answers."""

from __future__ import annotations

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_or_skip() -> redis.Redis:
    """A client for the system Redis; the test is skipped (saying why) when none answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        client.close()
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    return client
