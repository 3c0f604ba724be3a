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

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from mercato.chassis.logging import get_logger

BUCKET = "mercato_registry"
log = get_logger(__name__)


@dataclass
class Instance:
    service: str
    instance_id: str
    address: str
    version: str
    health: str = "starting"
    started_at: float = field(default_factory=time.time)
    heartbeat_at: float = field(default_factory=time.time)
    pid: int = 0

    @property
    def key(self) -> str:
        return f"{self.service}.{self.instance_id}"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()


async def open_bucket(js: JetStreamContext, ttl: float) -> KeyValue:
    """The registry bucket, created on first use (memory storage: it is soft state)."""
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        config = KeyValueConfig(
            bucket=BUCKET, ttl=ttl, history=1, storage=StorageType.MEMORY,
            limit_marker_ttl=max(ttl, 1.0),
        )
        try:
            return await js.create_key_value(config=config)
        except Exception:  # another instance created it meanwhile
            return await js.key_value(BUCKET)


class RegistryView:
    """A live, local view of every registered instance."""

    def __init__(self, kv: KeyValue, ttl: float) -> None:
        self._kv = kv
        self._ttl = ttl
        self._instances: dict[str, Instance] = {}
        self._task: asyncio.Task | None = None
        self._synced = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="registry-watch")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), 5)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _watch(self) -> None:
        while True:
            try:
                watcher = await self._kv.watchall()
                async for entry in watcher:
                    if entry is None:
                        self._synced.set()
                        continue
                    if entry.operation in (KV_DEL, KV_PURGE) or not entry.value:
                        self._instances.pop(entry.key, None)
                        continue
                    try:
                        self._instances[entry.key] = Instance(**json.loads(entry.value))
                    except (ValueError, TypeError):
                        log.warning("registry_entry_unreadable", key=entry.key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker gone: retry, keep the last view
                log.warning("registry_watch_failed", error=str(exc))
                await asyncio.sleep(1.0)

    def all(self) -> list[Instance]:
        """Every instance whose heartbeat is within the TTL."""
        horizon = time.time() - self._ttl
        return [i for i in self._instances.values() if i.heartbeat_at >= horizon]

    def ready(self, service: str) -> list[Instance]:
        """The ready instances of one service."""
        horizon = time.time() - self._ttl
        return [
            i for i in self._instances.values()
            if i.service == service and i.health == "ready" and i.heartbeat_at >= horizon
        ]


class Registration:
    """This process's own entry: heartbeats until stopped, then deletes itself."""

    def __init__(self, kv: KeyValue, instance: Instance, interval: float) -> None:
        self._kv = kv
        self.instance = instance
        self._interval = interval
        self._task: asyncio.Task | None = None

    async def start(self, health_probe) -> None:
        self._probe = health_probe
        await self._beat()
        self._task = asyncio.create_task(self._loop(), name="registry-heartbeat")

    async def _beat(self) -> None:
        self.instance.health = "ready" if await self._probe() else "unready"
        self.instance.heartbeat_at = time.time()
        await self._kv.put(self.instance.key, self.instance.to_json())

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
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._kv.delete(self.instance.key), 2)
