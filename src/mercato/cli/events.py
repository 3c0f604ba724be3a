"""``mercato events tail``: every integration event as it flows, one line each.

One ephemeral *ordered* consumer per event stream (``MERCATO_<SERVICE>``, never the
dead-letter stream): the server keeps no state for it and forgets it when the tail stops,
and the client re-creates it from the last sequence seen if a message goes missing, so
the tail neither disturbs the services' durable consumers nor skips events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from datetime import datetime

from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from mercato.chassis.messaging.streams import DLQ_STREAM

STREAM_PREFIX = "MERCATO_"
ALL_EVENTS = "mercato.>"
RESCAN_SECONDS = 5.0


def subjects_overlap(a: str, b: str) -> bool:
    """Whether some subject matches both NATS subject patterns (``*`` one token, ``>`` one
    or more trailing tokens)."""
    ta, tb = a.split("."), b.split(".")
    for i, x in enumerate(ta):
        if i >= len(tb):
            return False
        y = tb[i]
        if x == ">" or y == ">":
            return True
        if x != y and "*" not in (x, y):
            return False
    return len(ta) == len(tb)


def event_streams(infos, subject: str) -> list[tuple[str, str]]:
    """(stream, filter subject) for each event stream holding subjects that match
    ``subject``: every ``MERCATO_*`` stream but the dead letters."""
    found = []
    for info in infos:
        name = info.config.name
        if not name.startswith(STREAM_PREFIX) or name == DLQ_STREAM:
            continue
        if any(subjects_overlap(subject, s) for s in info.config.subjects or []):
            found.append((name, subject))
    return sorted(found)


def key_ids(payload: dict) -> list[tuple[str, str]]:
    """The identifiers in a payload (``*_id`` fields, in payload order): what one looks for
    when following an order through the system."""
    return [(k, str(v)) for k, v in payload.items()
            if (k == "id" or k.endswith("_id")) and isinstance(v, str | int)]


def short_time(occurred_at: str) -> str:
    try:
        moment = datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return str(occurred_at)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def format_event(subject: str, data: bytes) -> str:
    """One readable line: time, source, type, the payload's ids, correlation id."""
    try:
        env = json.loads(data)
        payload = env.get("payload") or {}
        ids = " ".join(f"{k}={v}" for k, v in key_ids(payload)) or "-"
        return (f"{short_time(env['occurred_at'])}  {env['source']:<13} {env['type']:<20} "
                f"{ids}  corr={env.get('correlation_id') or '-'}")
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"{'?':<23}  {subject}  <not an event envelope: {len(data)} bytes>"


def raw_envelope(data: bytes) -> str:
    """The envelope as published, kept on one line (one JSON document per line)."""
    text = data.decode("utf-8", "replace")
    if "\n" in text:
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), separators=(",", ":"))
    return text


class Tail:
    """Subscribes to every matching event stream and writes each event with ``emit``."""

    def __init__(self, nc: Nats, *, subject: str = ALL_EVENTS, from_start: bool = False,
                 as_json: bool = False, emit: Callable[[str], None] | None = None) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.subject = subject
        self.from_start = from_start
        self.as_json = as_json
        self.emit = emit or (lambda line: print(line, flush=True))
        self.subscribed: dict[str, object] = {}
        self.seen = 0

    async def _on_message(self, msg) -> None:
        self.seen += 1
        line = raw_envelope(msg.data) if self.as_json else format_event(msg.subject, msg.data)
        self.emit(line)

    async def subscribe_new_streams(self) -> list[str]:
        """Subscribe to matching streams not followed yet (a service that starts later
        creates its stream then); returns the streams added."""
        added = []
        infos = await self.js.streams_info()
        for stream, subject in event_streams(infos, self.subject):
            if stream in self.subscribed:
                continue
            policy = DeliverPolicy.ALL if self.from_start else DeliverPolicy.NEW
            self.subscribed[stream] = await self.js.subscribe(
                subject, stream=stream, ordered_consumer=True, deliver_policy=policy,
                cb=self._on_message)
            added.append(stream)
        return added

    async def run(self, stop: asyncio.Event, notice: Callable[[str], None] = print,
                  rescan: float = RESCAN_SECONDS) -> int:
        """Follow until ``stop`` is set (0) or the connection is gone (1), looking for
        new streams every ``rescan`` seconds."""
        first = True
        while not stop.is_set():
            if self.nc.is_closed:
                notice("The connection to NATS is closed (did `mercato up` stop?).")
                return 1
            try:
                added = await self.subscribe_new_streams()
            except Exception as exc:  # a slow or restarting broker: say so, try again
                notice(f"Cannot list the event streams: {exc or type(exc).__name__}")
                added = []
            if first:
                notice(f"Following {self.subject} in {', '.join(added)}"
                       f"{' from the start of each stream' if self.from_start else ''}; "
                       "Ctrl-C stops." if added else
                       f"No event stream holds subjects matching {self.subject} yet; "
                       "waiting for one.")
            elif added:
                notice(f"Also following {', '.join(added)}.")
            first = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(rescan):
                    await stop.wait()
        return 0

    async def close(self) -> None:
        for sub in self.subscribed.values():
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


async def tail_events(nats_url: str, *, subject: str, from_start: bool, as_json: bool,
                      login: dict[str, str] | None = None) -> int:
    """Run until Ctrl-C (or SIGTERM): 0 on a clean stop, 1 if the connection is lost."""
    from mercato.platform.running import connect

    nc = await connect(nats_url, login)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tail = Tail(nc, subject=subject, from_start=from_start, as_json=as_json)
    try:
        # notices go to stderr: stdout carries only events (one JSON document per line
        # with --json)
        return await tail.run(stop, lambda text: print(text, file=sys.stderr, flush=True))
    finally:
        await tail.close()
        with contextlib.suppress(Exception):
            await nc.close()
