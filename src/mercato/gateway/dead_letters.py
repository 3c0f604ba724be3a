"""One dead letter, its replay, and whether the replay was consumed (admin):

- ``GET /api/v1/ops/dead-letters/{seq}``: the dead letter with its payload (the envelope
  as published);
- ``POST /api/v1/ops/dead-letters/{seq}/replay``: delivered again to the consumer that gave
  up on it, through the chassis (``replay_dead_letter``, as ``mercato dlq replay``); the
  answer names the replayed copy: its stream and sequence, and the consumer;
- ``GET /api/v1/ops/consumers/{stream}/{consumer}?seq=N``: that consumer's position;
  ``consumed`` is true once it has acknowledged message N (handled it, or skipped it by
  its inbox). A replay that fails again comes back as a new dead letter.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from nats.js.errors import NotFoundError

from mercato.chassis.messaging import replay_dead_letter
from mercato.chassis.messaging.dlq import get_dead_letter, replay_subject
from mercato.contracts.envelope import stream_for
from mercato.gateway.errors import Reply

ONE = re.compile(r"^/api/v1/ops/dead-letters/(\d{1,18})$")
REPLAY = re.compile(r"^/api/v1/ops/dead-letters/(\d{1,18})/replay$")
CONSUMER = re.compile(r"^/api/v1/ops/consumers/(MERCATO_[A-Z0-9_]{1,40})/([A-Za-z0-9_-]{1,100})$")


def is_dead_letter_path(path: str) -> bool:
    return bool(ONE.match(path) or REPLAY.match(path) or CONSUMER.match(path))


def payload_of(data: bytes):
    """The dead letter's message: JSON when it is, else its text."""
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


async def answer_dead_letter(js, method: str, path: str, query: bytes) -> tuple[int, bytes]:
    if js is None:
        raise Reply(503, "the gateway is not connected to NATS", {"Retry-After": "1"})
    try:
        if method == "GET" and (m := ONE.match(path)):
            return await _one(js, int(m.group(1)))
        if method == "POST" and (m := REPLAY.match(path)):
            return await _replay(js, int(m.group(1)))
        if method == "GET" and (m := CONSUMER.match(path)):
            return await _position(js, m.group(1), m.group(2), query)
    except Reply:
        raise
    except Exception as exc:  # broker down or slow: say so rather than answer 500
        raise Reply(503, f"the dead letters are unavailable ({type(exc).__name__})",
                    {"Retry-After": "1"}) from None
    raise Reply(405, f"{method} is not allowed on {path}")


async def _one(js, seq: int) -> tuple[int, bytes]:
    _no_zero(seq)
    letter = await get_dead_letter(js, seq)
    if letter is None:
        raise Reply(404, f"there is no dead letter with sequence {seq}")
    return 200, json.dumps({**letter.summary(), "payload": payload_of(letter.data)}).encode()


async def _replay(js, seq: int) -> tuple[int, bytes]:
    _no_zero(seq)
    try:
        letter = await replay_dead_letter(js, seq)
    except LookupError as exc:
        raise Reply(404, str(exc)) from None
    source = letter.subject.split(".")[1]
    stream = stream_for(source)
    copy = await js.get_last_msg(stream, replay_subject(source, letter.consumer))
    return 200, json.dumps({"replayed": letter.summary(), "stream": stream,
                            "stream_seq": copy.seq, "consumer": letter.consumer}).encode()


def _no_zero(seq: int) -> None:
    """Sequences start at 1: the broker refuses 0 as a bad request (it was a 503 here,
    found by schemathesis, tests/contract/)."""
    if seq < 1:
        raise Reply(404, f"there is no dead letter with sequence {seq}")


async def _position(js, stream: str, consumer: str, query: bytes) -> tuple[int, bytes]:
    seq = parse_qs(query.decode("latin-1")).get("seq", ["0"])[-1]
    if not seq.isdigit():
        raise Reply(400, "seq: the stream sequence of a message")
    try:
        info = await js.consumer_info(stream, consumer)
    except NotFoundError:
        raise Reply(404, f"there is no consumer {consumer} on {stream}") from None
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    delivered = info.delivered.stream_seq if info.delivered else 0
    return 200, json.dumps({
        "stream": stream, "consumer": consumer, "delivered": delivered, "ack_floor": floor,
        "pending": info.num_pending or 0, "ack_pending": info.num_ack_pending or 0,
        "consumed": int(seq) > 0 and floor >= int(seq)}).encode()
