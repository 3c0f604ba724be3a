"""The system Redis (127.0.0.1:6379) for the tests that need one: a client, or the test
failed with the reason when none answers (a missing server is never a skip)."""

from __future__ import annotations

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def system_redis() -> redis.Redis:
    """A client for the system Redis; the test fails (saying how to start it) when none
    answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        client.close()
        pytest.fail(f"no Redis answers at {REDIS_URL} ({exc}); start it with 'redis-server "
                    "--daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no'")
    return client
