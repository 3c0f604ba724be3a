"""Deliver events to a service's handlers through the chassis consumer
(``mercato.chassis.messaging.Consumers.handle``), so the real inbox logic runs: a small
stand-in for a JetStream message records its ack and naks."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from mercato.chassis.messaging import Consumers, Subscription
from mercato.contracts.envelope import Envelope, Event, stream_for


@dataclass
class FakeMessage:
    """What ``Consumers.handle`` reads of a JetStream message: its data and subject, and
    the metadata it needs to retry or dead-letter it (the delivery count, the stream and
    the message's sequence in it)."""

    data: bytes
    subject: str
    num_delivered: int = 1
    stream: str = "MERCATO_TEST"
    stream_seq: int = 1
    acks: int = 0
    naks: list[float | None] = field(default_factory=list)

    @property
    def metadata(self) -> SimpleNamespace:
        return SimpleNamespace(num_delivered=self.num_delivered, stream=self.stream,
                               sequence=SimpleNamespace(stream=self.stream_seq))

    async def ack(self) -> None:
        self.acks += 1

    async def nak(self, delay: float | None = None) -> None:
        self.naks.append(delay)


def envelope(event: Event, event_id: str) -> Envelope:
    return Envelope(id=event_id, type=event.type_name(), version=event.VERSION,
                    source=event.SOURCE, occurred_at="2026-01-01T00:00:00Z",
                    payload=event.model_dump(mode="json"))


async def deliver(consumers: Consumers, sub: Subscription, env: Envelope,
                  attempt: int = 1) -> FakeMessage:
    """Hand ``env`` to ``sub`` as the ``attempt``-th delivery, from the stream of its
    publisher; the message shows the outcome."""
    msg = FakeMessage(env.model_dump_json().encode(), env.subject, attempt,
                      stream=stream_for(env.source))
    await consumers.handle(sub, msg)
    return msg


def subscription(subs: list[Subscription], name: str) -> Subscription:
    return next(s for s in subs if s.name == name)


async def inbox(db, consumer: str) -> list[str]:
    rows = await db.fetch_all("SELECT event_id FROM inbox WHERE consumer = ? ORDER BY event_id",
                              consumer)
    return [r["event_id"] for r in rows]
