"""``GET /api/v1/ops/events?type=&order_id=&limit=`` (admin): the newest integration events
of every event stream, newest first, read from JetStream itself.

Stateless, so any gateway replica answers alike: per event stream (``MERCATO_<SERVICE>``,
never the dead letters) one ephemeral pull consumer without acks reads the newest ``SCAN``
messages (only the type's subject when ``type`` is given, so the broker does the
filtering), then the envelopes are filtered by order id, merged by time and cut at
``limit``. The consumer is deleted at once and would expire by itself anyway. An event
older than the newest ``SCAN`` of its stream is not looked at: this is a live feed, not a
search (``mercato events tail --from-start`` reads a whole stream).
"""

from __future__ import annotations

import contextlib
import json
import re
from urllib.parse import parse_qs

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mercato.chassis.messaging.streams import DLQ_STREAM
from mercato.gateway.errors import Reply

EVENTS_PATH = "/api/v1/ops/events"
SCAN = 500
FETCH_TIMEOUT = 0.5
EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
ORDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def parse_query(query: bytes) -> dict:
    """``type``, ``order_id`` and ``limit`` (1..200, default 50); a 400 naming the bad one."""
    args = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
    unknown = set(args) - {"type", "order_id", "limit"}
    if unknown:
        raise Reply(400, f"unknown parameter {sorted(unknown)[0]!r}; use type, order_id, "
                         "limit")
    event_type, order_id = args.get("type", "").strip(), args.get("order_id", "").strip()
    if event_type and not EVENT_TYPE.match(event_type):
        raise Reply(400, "type: an event type such as OrderPlaced")
    if order_id and not ORDER_ID.match(order_id):
        raise Reply(400, "order_id: 1 to 100 letters, digits, '_', '.', ':' or '-'")
    limit = args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise Reply(400, "limit: a whole number from 1 to 200")
    return {"event_type": event_type or None, "order_id": order_id or None,
            "limit": int(limit)}


def event_item(stream: str, seq: int, subject: str, data: bytes) -> dict | None:
    """One event as the feed shows it; None when the message is not an envelope."""
    try:
        env = json.loads(data)
        payload = env.get("payload") or {}
        return {"stream": stream, "seq": seq, "subject": subject, "id": env["id"],
                "type": env["type"], "source": env["source"],
                "occurred_at": env["occurred_at"],
                "correlation_id": env.get("correlation_id"),
                "order_id": payload.get("order_id") or (
                    payload.get("id") if env["source"] == "orders" else None),
                "payload": payload}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def matches(item: dict, order_id: str | None) -> bool:
    return order_id is None or item["order_id"] == order_id


async def recent_events(js, *, event_type: str | None = None, order_id: str | None = None,
                        limit: int = 50) -> list[dict]:
    found: list[dict] = []
    for info in await js.streams_info():
        name = info.config.name
        if not name.startswith("MERCATO_") or name == DLQ_STREAM or not info.state.messages:
            continue
        source = name.removeprefix("MERCATO_").lower()
        subject = f"mercato.{source}.{event_type}" if event_type else f"mercato.{source}.>"
        start = max(info.state.first_seq, info.state.last_seq - SCAN + 1)
        for seq, msg_subject, data in await _read(js, name, subject, start):
            item = event_item(name, seq, msg_subject, data)
            if item is not None and matches(item, order_id):
                found.append(item)
    found.sort(key=lambda i: (i["occurred_at"], i["seq"]), reverse=True)
    return found[:limit]


async def _read(js, stream: str, subject: str, start: int) -> list[tuple[int, str, bytes]]:
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                            opt_start_seq=start, ack_policy=AckPolicy.NONE,
                            inactive_threshold=10.0, mem_storage=True)
    psub = await js.pull_subscribe(subject, durable=None, stream=stream, config=config)
    try:
        msgs = await psub.fetch(SCAN, timeout=FETCH_TIMEOUT)
    except TimeoutError:  # nothing of that type in the window
        msgs = []
    finally:
        with contextlib.suppress(Exception):
            await psub.unsubscribe()
    return [(m.metadata.sequence.stream, m.subject, m.data) for m in msgs]


async def answer_events(js, query: bytes) -> tuple[int, bytes]:
    if js is None:
        raise Reply(503, "the gateway is not connected to NATS", {"Retry-After": "1"})
    args = parse_query(query)
    try:
        items = await recent_events(js, **args)
    except Reply:
        raise
    except Exception as exc:  # a slow or restarting broker: say so
        raise Reply(503, f"the event streams cannot be read ({type(exc).__name__})",
                    {"Retry-After": "1"}) from None
    return 200, json.dumps({"items": items}).encode()
