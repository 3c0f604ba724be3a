"""F7: duplicate, reordered and late messages, re-sent by a test publisher.

Events already in the platform's streams (one per publishing service) are read back and
published again, each to every durable consumer that takes it, on that consumer's replay
subject (``mercato.<source>.replay.<durable>``, in its filter only): the path of
``mercato dlq replay``, which the operator's NATS user (``cli``) may publish on, so no
service's credentials are borrowed. Each copy is the same envelope (same event id) under
a new ``Nats-Msg-Id``, so the stream's duplicate window stores it and the consumer's inbox
must drop it. At injection: some recent events once more (duplicates) and the newest
batch of one stream in reverse order (reordered); at the heal: the first events of the
run (late). Promise: no double effect (``mercato verify``), and every copy consumed.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from mercato.chaos.faults.base import Check, Fault, Target
from mercato.chassis.messaging.dlq import replay_subject
from mercato.contracts.envelope import stream_for
from mercato.platform.nats_permissions import publishers
from mercato.platform.running import connect, login, running_state

RECENT = 200  # how far back (events per stream) duplicates are drawn from
DUPLICATES = 12  # events re-sent as duplicates per window
BATCH = 6  # the newest events of one stream, re-sent in reverse order
LATE = 4  # the first events of each stream, re-sent at the heal


@dataclass(frozen=True)
class Captured:
    """An event as its stream holds it."""
    source: str  # the publishing service
    seq: int
    subject: str
    data: bytes


@dataclass(frozen=True)
class Copy:
    """One re-sent copy: which event, to which durable consumer, its sequence in the
    stream once stored (0 until then), and when that stream was created (a stream made
    again after the broker lost its store, F4, no longer holds the copy)."""
    event: Captured
    durable: str
    seq: int = 0
    stream_created: str = ""


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` the rest (one token at least)."""
    pat, sub = pattern.split("."), subject.split(".")
    for i, token in enumerate(pat):
        if token == ">":
            return len(sub) > i
        if i >= len(sub) or token not in ("*", sub[i]):
            return False
    return len(pat) == len(sub)


def takers(subject: str, filters: dict[str, list[str]]) -> list[str]:
    """The durables (name -> filter subjects) whose filter takes ``subject``, sorted."""
    return sorted(d for d, subjects in filters.items()
                  if any(matches(f, subject) for f in subjects))


def is_original(event: Captured) -> bool:
    """False for a copy already re-sent on a replay subject (no consumer's own event)."""
    return event.subject.split(".")[2:3] != ["replay"]


def consumed(events: list[Captured], filters: dict[str, list[str]]) -> list[Captured]:
    """The ``events`` some durable (name -> filter subjects) takes: re-sending the others
    would reach no one."""
    return [e for e in events if takers(e.subject, filters)]


def duplicates(events: list[Captured], rng: random.Random, count: int) -> list[Captured]:
    """Up to ``count`` of ``events`` (originals only), drawn at random, in stream order."""
    originals = [e for e in events if is_original(e)]
    picked = rng.sample(originals, min(count, len(originals)))
    return sorted(picked, key=lambda e: (e.source, e.seq))


def reversed_batch(events: list[Captured], size: int) -> list[Captured]:
    """The newest ``size`` originals of one stream's ``events``, newest first."""
    originals = sorted((e for e in events if is_original(e)), key=lambda e: e.seq)
    return originals[-size:][::-1]


def copies(events: list[Captured], filters: dict[str, dict[str, list[str]]]) -> list[Copy]:
    """Each event once for every durable of its stream (``filters``: source -> durable ->
    filter subjects) that takes it, in the order given."""
    return [Copy(e, d) for e in events for d in takers(e.subject, filters.get(e.source, {}))]


class ResendEvents(Fault):
    """F7: captured events re-sent — duplicated, reordered, late — to their consumers."""
    id, what, lengths = "F7", "duplicate, reordered and late events", (4.0, 6.0)
    sent: ClassVar[dict[Path, list[Copy]]] = {}  # every window's copies, per platform

    async def inject(self, target: Target) -> str:
        async with _broker(target) as js:
            filters, streams = await _read(js, RECENT, newest=True)
            rng, taken = target.rng, {s: consumed(events, filters.get(s, {}))
                                      for s, events in streams.items()}
            dup = duplicates([e for events in taken.values() for e in events], rng, DUPLICATES)
            busy = sorted(s for s, events in taken.items() if any(map(is_original, events)))
            batch = reversed_batch(taken[rng.choice(busy)], BATCH) if busy else []
            sent = await _send(js, copies(dup, filters) + copies(batch, filters))
        self.sent.setdefault(target.data_dir, []).extend(sent)
        return (f"{len(dup)} events duplicated, {len(batch)} re-sent in reverse order: "
                f"{len(sent)} copies to their consumers")

    async def heal(self, target: Target) -> str:
        async with _broker(target) as js:
            filters, streams = await _read(js, LATE, newest=False)
            late = [e for events in streams.values() for e in events if is_original(e)]
            sent = await _send(js, copies(late, filters))
        self.sent.setdefault(target.data_dir, []).extend(sent)
        return f"{len(late)} events of the run's start re-sent late: {len(sent)} copies"

    async def checks(self, target: Target) -> list[Check]:
        """Every copy re-sent (in every window) was consumed: its consumer's ack floor is
        past it. Its effect (none) is ``mercato verify``'s to check."""
        sent = self.sent.get(target.data_dir, [])
        async with _broker(target) as js:
            floors, created = {}, {}
            for source in sorted({c.event.source for c in sent}):
                created[source] = await _created(js, stream_for(source))
            for source, durable in sorted({(c.event.source, c.durable) for c in sent}):
                info = await js.consumer_info(stream_for(source), durable)
                floors[(source, durable)] = info.ack_floor.stream_seq
        lost = [c for c in sent if c.stream_created != created[c.event.source]]
        left = [f"{c.durable} {c.event.subject} (seq {c.seq})" for c in sent
                if c not in lost and floors[(c.event.source, c.durable)] < c.seq]
        gone = f"; {len(lost)} lost with the broker's store (F4)" if lost else ""
        return [Check("every re-sent event consumed (F7)", bool(sent) and not left,
                      f"{len(sent)} copies re-sent, {len(left)} not consumed{gone}",
                      count=len(left), violations=left[:20], inv="INV-events")]


@contextlib.asynccontextmanager
async def _broker(target: Target):
    """JetStream as the operator's NATS user (``cli``) of the target's data dir."""
    nc = await connect(running_state(target.data_dir)["nats_url"], login(target.data_dir))
    try:
        yield nc.jetstream()
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def _read(js, count: int, *, newest: bool):
    """Per publishing service: its durables' filters, and its first or newest ``count``
    events."""
    filters: dict[str, dict[str, list[str]]] = {}
    streams: dict[str, list[Captured]] = {}
    for source in publishers():
        stream = stream_for(source)
        state = (await js.stream_info(stream)).state
        filters[source] = {c.name: list(c.config.filter_subjects or
                                        [c.config.filter_subject or ">"])
                           for c in await js.consumers_info(stream) if c.config.durable_name}
        if not state.messages:
            streams[source] = []
            continue
        first = max(state.first_seq, state.last_seq - count + 1) if newest else state.first_seq
        last = state.last_seq if newest else min(state.last_seq, first + count - 1)
        streams[source] = [Captured(source, m.seq, m.subject, m.data or b"")
                           for m in [await _get(js, stream, s) for s in range(first, last + 1)]
                           if m is not None]
    return filters, streams


async def _get(js, stream: str, seq: int):
    try:
        return await js.get_msg(stream, seq)
    except Exception:  # removed (max age) or never stored: nothing to re-send
        return None


async def _send(js, planned: list[Copy]) -> list[Copy]:
    """Publish each copy on its durable's replay subject under a new message id; the
    copies as stored (with their stream sequence)."""
    sent, created = [], {}
    for c in planned:
        stream = stream_for(c.event.source)
        if stream not in created:
            created[stream] = await _created(js, stream)
        ack = await js.publish(replay_subject(c.event.source, c.durable), c.event.data,
                               timeout=5, headers={"Nats-Msg-Id": f"chaos-f7:{uuid.uuid4()}"})
        sent.append(Copy(c.event, c.durable, ack.seq, created[stream]))
    return sent


async def _created(js, stream: str) -> str:
    """When ``stream`` was created: another value once the broker lost its store and the
    stream was made again (F4), when the copies stored in it before are gone."""
    return str((await js.stream_info(stream)).created)
