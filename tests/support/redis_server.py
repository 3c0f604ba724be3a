"""The system Redis (127.0.0.1:6379) for the tests that need one: a client, or the test
failed with the reason when none answers (a missing server is never a skip)."""

from __future__ import annotations

import uuid

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


class RedisPrefix:
    """A unique key prefix; ``clean()`` deletes every key under it."""

    def __init__(self) -> None:
        self.client = system_redis()
        self.prefix = f"mercato-test:{uuid.uuid4().hex}:"

    def keys(self) -> list[str]:
        return sorted(k.decode() for k in self.client.scan_iter(match=self.prefix + "*"))

    def clean(self) -> None:
        keys = list(self.client.scan_iter(match=self.prefix + "*"))
        if keys:
            self.client.delete(*keys)
        self.client.close()
