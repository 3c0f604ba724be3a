"""Which versions of a service a call may use: the deployment routing policy.

A NATS KV bucket (``mercato_routing``) holds one key per service under deployment:
``{"stable": V1, "canary": V2 | null, "weight": 0..100, "active": V | null}``. No key: every
ready instance takes traffic. Each process keeps a watched local view of the bucket
(``RoutingView``); ``eligible`` is the pure decision the balancer applies before it orders
the instances:

- blue-green (``active`` set): only instances of that version;
- canary: the canary version with probability ``weight`` % — always with the request header
  ``X-Canary: always``, never with ``X-Canary: never`` — else the stable version;
- a stable version alone: only its instances.

If the chosen set has no ready instance, every ready instance is used (a missing canary is
never an outage). The request's ``X-Canary`` travels in ``canary_var``: the gateway and the
services' middleware set it from the request, the service client sends it on.

Hand-written: traffic splitting by version is a service-mesh feature (Envoy, Istio); no
Python library splits over a caller-kept instance list, and the decision is a few lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import asdict, dataclass

from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from mercato.chassis.calls.registry import Instance
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.servers import stream_replicas
from mercato.chassis.tasks import stop_tasks

BUCKET = "mercato_routing"
CANARY_HEADER = "X-Canary"
canary_var: ContextVar[str] = ContextVar("canary", default="")
log = get_logger(__name__)


@dataclass(frozen=True)
class Policy:
    stable: str | None = None
    canary: str | None = None
    weight: int = 0
    active: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Policy:
        data = json.loads(raw)
        return cls(stable=data.get("stable"), canary=data.get("canary"),
                   weight=int(data.get("weight") or 0), active=data.get("active"))


def chosen_version(policy: Policy, force: str, rng: random.Random) -> str | None:
    """The version one call should use under ``policy``; None: any version."""
    if policy.active:
        return policy.active
    if policy.canary:
        if force == "always":
            return policy.canary
        if force == "never":
            return policy.stable
        return policy.canary if rng.random() * 100 < policy.weight else policy.stable
    return policy.stable


def eligible(instances: Sequence[Instance], policy: Policy | None, force: str,
             rng: random.Random) -> list[Instance]:
    """The instances one call may use (see the module docstring)."""
    if policy is None:
        return list(instances)
    version = chosen_version(policy, force.strip().lower(), rng)
    if version is None:
        return list(instances)
    chosen = [i for i in instances if i.version == version]
    return chosen or list(instances)


async def open_bucket(js: JetStreamContext, replicas: int | None = None) -> KeyValue:
    """The routing bucket, created on first use (file storage: a policy outlives a broker
    restart), with ``replicas`` copies on a cluster (default ``MERCATO_NATS_REPLICAS``)."""
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        try:
            return await js.create_key_value(config=KeyValueConfig(
                bucket=BUCKET, history=1, replicas=replicas or stream_replicas()))
        except Exception:  # another process created it meanwhile
            return await js.key_value(BUCKET)


class RoutingView:
    """A live local copy of the routing bucket. Each (re)started watch rebuilds the copy
    from the bucket's current values, so a delete missed while disconnected is not kept."""

    def __init__(self, nc: Nats, *, rng: random.Random | None = None,
                 refresh: float = 30.0) -> None:
        self._nc = nc
        self._rng = rng or random.Random()
        self._refresh = refresh
        self.policies: dict[str, Policy] = {}
        self._task: asyncio.Task | None = None
        self._synced = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="routing-watch")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._synced.wait()

    async def stop(self) -> None:
        await stop_tasks([self._task])

    def eligible(self, service: str, instances: list[Instance]) -> list[Instance]:
        policy = self.policies.get(service)
        if policy is None:
            return instances
        return eligible(instances, policy, canary_var.get(), self._rng)

    async def _watch(self) -> None:
        while True:
            watcher = None
            try:
                kv = await open_bucket(self._nc.jetstream())
                watcher = await kv.watchall()
                fresh: dict[str, Policy] | None = {}
                while True:
                    try:  # asyncio.timeout, not wait_for: see chassis/tasks.py
                        async with asyncio.timeout(self._refresh):
                            entry = await anext(watcher)
                    except (TimeoutError, StopAsyncIteration):
                        break  # quiet for long: a fresh watch re-reads every value
                    if entry is None:  # the current values are all in
                        if fresh is not None:
                            self.policies, fresh = fresh, None
                        self._synced.set()
                        continue
                    target = fresh if fresh is not None else dict(self.policies)
                    if entry.operation in (KV_DEL, KV_PURGE) or not entry.value:
                        target.pop(entry.key, None)
                    else:
                        try:
                            target[entry.key] = Policy.from_json(entry.value)
                        except (ValueError, TypeError):
                            log.warning("routing_entry_unreadable", key=entry.key)
                    if fresh is None:
                        self.policies = target
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker gone: keep the last policies, retry
                log.warning("routing_watch_failed", error=str(exc))
                await asyncio.sleep(1.0)
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        async with asyncio.timeout(1.0):
                            await watcher.stop()
