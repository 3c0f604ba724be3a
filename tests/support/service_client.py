"""A stand-in for the chassis ServiceClient, for testing a service's HTTP adapters to others."""

from __future__ import annotations

import json

from mercato.chassis import Reply, Unavailable


class FakeServiceClient:
    """Answers every call with ``reply``, or finds no ready instance when it is None;
    records (service, method, path, json_body) of each call."""

    def __init__(self, reply: Reply | None) -> None:
        self.reply = reply
        self.sent: list[tuple] = []

    async def call(self, service, method, path, *, json_body=None, **_kw) -> Reply:
        self.sent.append((service, method, path, json_body))
        if self.reply is None:
            raise Unavailable(service, "no ready instance is registered")
        return self.reply


def reply(status: int, body: object) -> Reply:
    return Reply(status, json.dumps(body).encode(), {})
