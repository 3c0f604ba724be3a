"""Where NATS is, and how many copies JetStream keeps: the two facts a client needs about a
NATS cluster.

``MERCATO_NATS_URL`` is one URL for a single server or a comma-separated list for a
cluster (``nats://127.0.0.1:4301,nats://127.0.0.1:4302,...``); every ``nats.connect``
passes ``servers=nats_servers(url)``, and the client then reconnects to whichever node
answers (it also learns the other nodes from the servers themselves).

``MERCATO_NATS_REPLICAS`` (``mercato up --nats-cluster N`` sets it to ``min(3, N)`` for
itself and every child; unset: 1) is the ``num_replicas`` of every stream and KV bucket
Mercato makes: the event streams, the dead-letter stream, the audit stream, the registry
and routing buckets. Every process that makes one of these configurations reads it here,
so a service re-applying its own stream's configuration never scales it back down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

REPLICAS_ENV = "MERCATO_NATS_REPLICAS"
MAX_REPLICAS = 5  # JetStream's own limit


def nats_servers(url: str) -> list[str]:
    """The server URLs of ``url`` (one, or comma-separated), blanks dropped, in order."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError(f"no NATS server URL in {url!r}")
    return servers


def stream_replicas(environ: Mapping[str, str] = os.environ) -> int:
    """How many copies of each stream and bucket to keep (``MERCATO_NATS_REPLICAS``, 1
    when unset); ``ValueError`` for anything but 1..5."""
    raw = environ.get(REPLICAS_ENV, "").strip()
    if not raw:
        return 1
    try:
        replicas = int(raw)
    except ValueError:
        replicas = 0
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"{REPLICAS_ENV}={raw!r}: a whole number from 1 to {MAX_REPLICAS}")
    return replicas


def replicas_for(nodes: int) -> int:
    """The replicas of a cluster of ``nodes`` servers: every node up to three (three copies
    survive one lost node; more would only slow each write)."""
    return max(1, min(3, nodes))
