"""JetStream streams: one per publishing service, plus the dead-letter stream.

Retention is *limits* with a maximum age: every durable consumer keeps its own position,
so nothing needs interest retention, and a week of history lets a new consumer or a
replay start from the past. The duplicate window drops a re-published event (same
``Nats-Msg-Id``) when the relay's first publish was stored but its ack was lost. On a
cluster each stream keeps ``replicas`` copies (by default ``MERCATO_NATS_REPLICAS``, see
servers.py).
"""

from __future__ import annotations

from dataclasses import replace

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from mercato.chassis.messaging.servers import stream_replicas
from mercato.contracts.envelope import stream_for

DAY = 24 * 3600.0
EVENT_RETENTION = 7 * DAY
DLQ_STREAM = "MERCATO_DLQ"
DLQ_SUBJECT_PREFIX = "mercato.dlq"
DUPLICATE_WINDOW = 120.0  # seconds; the default of MERCATO_NATS_DUPLICATE_WINDOW


def event_stream_config(source: str, replicas: int | None = None,
                        duplicate_window: float = DUPLICATE_WINDOW) -> StreamConfig:
    """The JetStream stream of ``source``'s events: file storage, limits retention,
    duplicate window (``MERCATO_NATS_DUPLICATE_WINDOW``) against re-publishes, replicas
    from the cluster size."""
    return StreamConfig(
        name=stream_for(source), subjects=[f"mercato.{source}.>"],
        retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
        max_age=EVENT_RETENTION, duplicate_window=duplicate_window,
        discard=DiscardPolicy.OLD, num_replicas=replicas or stream_replicas(),
        description=f"integration events published by {source}",
    )


def dlq_stream_config(replicas: int | None = None) -> StreamConfig:
    return StreamConfig(
        name=DLQ_STREAM, subjects=[f"{DLQ_SUBJECT_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
        max_age=30 * DAY, duplicate_window=DUPLICATE_WINDOW,
        num_replicas=replicas or stream_replicas(),
        description="messages that exhausted their retries, with the error",
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration, keeping the
    metadata Mercato's relays wrote on it (``mercato.*``: redrive.py's baseline)."""
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    kept = {k: v for k, v in (info.config.metadata or {}).items() if k.startswith("mercato.")}
    if kept:
        config = replace(config, metadata={**kept, **(config.metadata or {})})
    await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, *sources: str, replicas: int | None = None,
                         duplicate_window: float = DUPLICATE_WINDOW) -> None:
    """Create or update the event stream of each of ``sources`` and the DLQ stream."""
    for source in sources:
        await ensure_stream(js, event_stream_config(source, replicas, duplicate_window))
    await ensure_stream(js, dlq_stream_config(replicas))
