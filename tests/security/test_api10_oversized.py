"""OWASP API10:2023, a peer's answer of any size: the ServiceClient reads at most its
bound (8 MiB, chassis/calls/client.py ``read_bounded``) and an answer past it is the peer
being unavailable, so orders' catalog adapter says so rather than parse 50 MB."""

from __future__ import annotations

import pytest

from mercato.chassis.calls.resilience import Unavailable
from mercato.services.orders.adapters.clients import HttpCatalog
from tests.security.test_api10_unsafe_consumption import peer_answering


async def test_a_reply_of_fifty_megabytes_is_refused_not_read_whole():
    body = b'{"products": {}, "pad": "' + b"a" * 50_000_000 + b'"}'
    async with peer_answering(200, body) as client:
        with pytest.raises(Unavailable):
            await HttpCatalog(client).lookup(["p1"])
