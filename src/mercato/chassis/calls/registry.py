"""Service registry on a NATS KV bucket: instances heartbeat their address with a TTL.

Each instance writes ``<service>.<instance_id>`` every ``heartbeat_interval`` seconds; the
bucket's max age drops entries that stop heartbeating, and the server's delete markers
tell watchers at once. A graceful stop deletes the entry. Readers keep a local view fed
by a KV watch and also ignore entries older than the TTL by their own clock, so a view
never serves an instance whose heartbeats stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from mercato.chassis.clock import RecentMinimum
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.servers import stream_replicas
from mercato.chassis.tasks import stop_tasks

BUCKET = "mercato_registry"
OFFSET_WINDOW = 60.0  # seconds of heartbeats the clock offset is the least of (one to two)
log = get_logger(__name__)


@dataclass
class Instance:
    """One running instance of a service as the registry holds it: its address (and gRPC
    endpoint), version, health and heartbeat."""

    service: str
    instance_id: str
    address: str
    version: str
    health: str = "starting"
    started_at: float = field(default_factory=time.time)
    heartbeat_at: float = field(default_factory=time.time)
    pid: int = 0
    grpc: str = ""  # host:port of its gRPC endpoint, if it has one (chassis/rpc)

    @property
    def key(self) -> str:
        return f"{self.service}.{self.instance_id}"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()


async def open_bucket(js: JetStreamContext, ttl: float, replicas: int | None = None
                      ) -> KeyValue:
    """The registry bucket, created on first use (memory storage: it is soft state), with
    ``replicas`` copies on a cluster (default ``MERCATO_NATS_REPLICAS``)."""
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        config = KeyValueConfig(
            bucket=BUCKET, ttl=ttl, history=1, storage=StorageType.MEMORY,
            limit_marker_ttl=max(ttl, 1.0), replicas=replicas or stream_replicas(),
        )
        try:
            return await js.create_key_value(config=config)
        except Exception:  # another instance created it meanwhile
            return await js.key_value(BUCKET)


class RegistryView:
    """A live, local view of every registered instance.

    Fed by a KV watch, which is restarted (bucket re-opened) when it fails or falls silent
    for longer than heartbeats allow — e.g. after the broker restarted and lost the
    in-memory bucket. Expiry is by this process's clock (an entry whose heartbeat is older
    than the TTL is ignored), and the server's age-out markers drop an entry too. A
    heartbeat is dated by when the broker stored it, not by the writer's clock, which may
    be off (F11: minutes): the broker's time moved onto this process's clock by the
    smallest arrival-minus-stored difference seen (the offset of the two clocks plus the
    quickest delivery; heartbeats come every few seconds, so some arrive at once). A graceful
    stop's delete removes an entry at once. While the feed is dead (broker unreachable or
    hung: no update for ``silence`` seconds) the view as it was when the feed fell silent is
    kept — nobody can heartbeat then, and expiring everyone would turn a broker outage into a
    platform outage — and after it returns, those entries get one TTL of grace to heartbeat
    again. An entry already stale when the feed fell silent (an instance killed before the
    outage) stays expired throughout.
    """

    def __init__(self, nc: Nats, ttl: float, *, silence: float = 6.0) -> None:
        self._nc = nc
        self._ttl = ttl
        self._silence = silence
        self._instances: dict[str, Instance] = {}
        self._stored: dict[str, float] = {}  # key -> when the broker stored its heartbeat
        self._offset = RecentMinimum(OFFSET_WINDOW)  # this clock minus the broker's (plus
        # delivery), least of the last one to two windows: a clock step is followed
        self._task: asyncio.Task | None = None
        self._synced = asyncio.Event()
        self._down_since: float | None = None
        self._grace_until = 0.0
        self._last_update = time.monotonic()
        self._last_update_wall = time.time()
        self._silent_from = 0.0  # wall time of the last update before the feed fell silent
        self.routing = None  # a routing.RoutingView, when deployments may split traffic

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="registry-watch")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), 5)

    async def stop(self) -> None:
        await stop_tasks([self._task])

    async def _watch(self) -> None:
        while True:
            watcher = None
            try:
                kv = await open_bucket(self._nc.jetstream(), self._ttl)
                watcher = await kv.watchall()
                while True:
                    try:  # asyncio.timeout, not wait_for: see chassis/tasks.py
                        async with asyncio.timeout(self._silence):
                            entry = await anext(watcher)
                    except (TimeoutError, StopAsyncIteration):
                        break  # silent for too long (or stopped): start a fresh watch
                    self._apply(entry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker gone or bucket lost: retry, keep the view
                log.warning("registry_watch_failed", error=str(exc))
                await asyncio.sleep(1.0)
            finally:
                if watcher is not None:
                    # bounded: unsubscribing can hang when the broker is slow or gone
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await asyncio.wait_for(watcher.stop(), 1.0)

    def _apply(self, entry) -> None:
        self._last_update = time.monotonic()
        self._last_update_wall = time.time()
        if entry is None:
            self._synced.set()
            return
        if entry.operation in (KV_DEL, KV_PURGE) or not entry.value:  # stopped, or aged out
            self._instances.pop(entry.key, None)
            self._stored.pop(entry.key, None)
            return
        try:
            self._instances[entry.key] = Instance(**json.loads(entry.value))
        except (ValueError, TypeError):
            log.warning("registry_entry_unreadable", key=entry.key)
            return
        stored = getattr(entry, "created", None)
        if isinstance(stored, datetime):
            self._stored[entry.key] = stored.timestamp()
            self._offset.add(self._last_update_wall - stored.timestamp(), self._last_update)

    def _beat(self, instance: Instance) -> float:
        """When ``instance`` last heartbeat, on this process's clock."""
        stored = self._stored.get(instance.key)
        return instance.heartbeat_at if stored is None else stored + self._offset.value

    def _fresh(self, instance: Instance, now: float) -> bool:
        beat = self._beat(instance)
        feed_alive = (self._nc.is_connected
                      and time.monotonic() - self._last_update < self._silence)
        if not feed_alive:
            if self._down_since is None:
                self._down_since, self._silent_from = now, self._last_update_wall
            return beat >= self._silent_from - self._ttl
        if self._down_since is not None:
            self._grace_until = now + self._ttl
            self._down_since = None
        if now < self._grace_until and beat >= self._silent_from - self._ttl:
            return True
        return beat >= now - self._ttl

    def all(self) -> list[Instance]:
        """Every instance whose heartbeat is within the TTL."""
        now = time.time()
        return [i for i in self._instances.values() if self._fresh(i, now)]

    def ready(self, service: str) -> list[Instance]:
        """The ready instances of one service."""
        now = time.time()
        return [i for i in self._instances.values()
                if i.service == service and i.health == "ready" and self._fresh(i, now)]


class Registration:
    """This process's own entry: heartbeats until stopped, then deletes itself. A failed
    heartbeat re-opens the bucket next time (the broker may have restarted without it)."""

    def __init__(self, nc: Nats, instance: Instance, interval: float, ttl: float) -> None:
        self._nc = nc
        self.instance = instance
        self._interval = interval
        self._ttl = ttl
        self._kv: KeyValue | None = None
        self._task: asyncio.Task | None = None

    async def start(self, health_probe) -> None:
        self._probe = health_probe
        await self._beat()
        self._task = asyncio.create_task(self._loop(), name="registry-heartbeat")

    async def _beat(self) -> None:
        self.instance.health = "ready" if await self._probe() else "unready"
        self.instance.heartbeat_at = time.time()
        if self._kv is None:
            self._kv = await open_bucket(self._nc.jetstream(), self._ttl)
        try:
            await self._kv.put(self.instance.key, self.instance.to_json())
        except Exception:
            self._kv = None
            raise

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("heartbeat_failed", error=str(exc))

    async def stop(self) -> None:
        await stop_tasks([self._task])
        if self._kv is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._kv.delete(self.instance.key), 2)
