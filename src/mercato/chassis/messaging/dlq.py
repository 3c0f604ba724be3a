"""Dead letters: messages that exhausted their retries, kept with the error, listed and
replayed on demand."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mercato.chassis.clock import iso, utc_now
from mercato.chassis.messaging.streams import DLQ_STREAM, DLQ_SUBJECT_PREFIX


@dataclass
class DeadLetter:
    """A message a consumer gave up on, as the DLQ stream keeps it (why, how often tried)."""

    seq: int
    consumer: str
    subject: str
    event_id: str
    event_type: str
    error: str
    attempts: int
    failed_at: str
    data: bytes

    def summary(self) -> dict:
        return {"seq": self.seq, "consumer": self.consumer, "subject": self.subject,
                "event_id": self.event_id, "event_type": self.event_type,
                "error": self.error, "attempts": self.attempts, "failed_at": self.failed_at}


async def dead_letter(js: JetStreamContext, *, consumer: str, subject: str, data: bytes,
                      event_id: str, event_type: str, error: str, attempts: int,
                      stream: str, stream_seq: int) -> None:
    """Store a failed message with its error in the dead-letter stream (acked by the
    broker before this returns, so the caller may then ack the original). The message id
    names the original's stream and sequence: a crash before the ack dead-letters it once,
    and a replayed copy (a new sequence) that fails again is dead-lettered again."""
    headers = {
        "Nats-Msg-Id": f"{stream}:{stream_seq}:{consumer}",
        "Mercato-Consumer": consumer, "Mercato-Subject": subject,
        "Mercato-Event-Id": event_id, "Mercato-Event-Type": event_type,
        "Mercato-Error": error[:2000].replace("\n", " | "),
        "Mercato-Attempts": str(attempts), "Mercato-Failed-At": iso(utc_now()),
    }
    await js.publish(f"{DLQ_SUBJECT_PREFIX}.{consumer}", data, headers=headers,
                     stream=DLQ_STREAM, timeout=5)


async def list_dead_letters(js: JetStreamContext, limit: int = 100) -> list[DeadLetter]:
    """The newest ``limit`` dead letters, oldest first."""
    try:
        info = await js.stream_info(DLQ_STREAM)
    except NotFoundError:
        return []
    if not info.state.messages:  # an empty stream reports first_seq 0: nothing to read
        return []
    first, last = info.state.first_seq, info.state.last_seq
    found: list[DeadLetter] = []
    for seq in range(max(first, last - limit + 1), last + 1):
        letter = await get_dead_letter(js, seq)
        if letter is not None:
            found.append(letter)
    return found


async def get_dead_letter(js: JetStreamContext, seq: int) -> DeadLetter | None:
    try:
        msg = await js.get_msg(DLQ_STREAM, seq)
    except NotFoundError:
        return None
    h = msg.headers or {}
    return DeadLetter(
        seq=seq, consumer=h.get("Mercato-Consumer", "?"), subject=h.get("Mercato-Subject", "?"),
        event_id=h.get("Mercato-Event-Id", "?"), event_type=h.get("Mercato-Event-Type", "?"),
        error=h.get("Mercato-Error", ""), attempts=int(h.get("Mercato-Attempts", "0")),
        failed_at=h.get("Mercato-Failed-At", ""), data=msg.data or b"",
    )


def replay_subject(source: str, consumer: str) -> str:
    """Where a replay for one consumer is published: inside the publisher's stream, and in
    that consumer's filter only, so no other consumer sees the replayed copy."""
    return f"mercato.{source}.replay.{consumer}"


async def replay_dead_letter(js: JetStreamContext, seq: int) -> DeadLetter:
    """Deliver a dead letter again to the consumer that gave up on it (and to no other),
    under a fresh message id so the duplicate window does not drop it. The dead letter is
    then removed from the stream."""
    letter = await get_dead_letter(js, seq)
    if letter is None:
        raise LookupError(f"no dead letter with sequence {seq}")
    parts = letter.subject.split(".")
    if len(parts) < 3 or parts[0] != "mercato":
        raise LookupError(f"dead letter {seq} has no replayable subject ({letter.subject})")
    target = replay_subject(parts[1], letter.consumer)
    await js.publish(target, letter.data, timeout=5,
                     headers={"Nats-Msg-Id": f"replay:{letter.event_id}:{seq}"})
    await js.delete_msg(DLQ_STREAM, seq)
    return letter

