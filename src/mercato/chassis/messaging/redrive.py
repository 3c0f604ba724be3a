"""Noticing that the broker lost what it acknowledged, and re-driving the outbox.

The relay marks a row sent once JetStream acknowledged it; if the broker then loses its
store (a deleted data dir, a lost disk: docs/chaos.md F4), those events are gone from the
stream although every outbox says "sent". Published rows are therefore kept for
``MERCATO_OUTBOX_RETENTION`` (the stream's max age), and the relay's ``StreamGuard``
watches for the loss in two ways:

- **the sequence went backwards**: every acknowledgment names the stream sequence it got;
  one at or below the highest seen so far (and not a duplicate) means the stream started
  again from nothing;
- **a probe**, when the relay starts and after its connection came back: the stream is
  missing (it is then created again, it is this service's own), or it holds fewer
  messages of some subject than the outbox published of it within the retention (the
  count per subject comes with the stream's info, so no message is read).

Either way every retained row is marked unsent again and the relay re-publishes them in
their order, with their event ids as ``Nats-Msg-Id``; the consumers' inboxes drop those
they handled already. No clock is compared with the broker's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from mercato.chassis.clock import Clock, iso, utc_now
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.outbox import Outbox
from mercato.chassis.messaging.streams import ensure_stream

log = get_logger(__name__)
MARGIN = 3600.0  # seconds: rows this close to the stream's max age may have aged out of it


def went_backwards(highest: int, seq: int, duplicate: bool) -> bool:
    """Whether an acknowledgment of stream sequence ``seq`` shows the stream restarted:
    at or below the highest one acknowledged before (a duplicate names the first copy's
    sequence, so it says nothing)."""
    return not duplicate and highest > 0 and seq <= highest


def lost_subjects(published: dict[str, int], in_stream: dict[str, int]) -> list[str]:
    """The subjects of which the stream holds fewer messages than the outbox published
    (each published row is at least one message; a re-publish may make it more)."""
    return sorted(s for s, n in published.items() if in_stream.get(s, 0) < n)


class StreamGuard:
    """The relay's watch over its own stream (see the module's docstring)."""

    def __init__(self, js: JetStreamContext, outbox: Outbox, stream: StreamConfig, *,
                 retention: float, clock: Clock = utc_now) -> None:
        self.js, self.outbox, self.stream = js, outbox, stream
        self.retention, self.clock = retention, clock
        self.highest = 0  # the highest stream sequence acknowledged to this relay
        self.suspect = True  # probe before the next publish (at start: always)
        self.redriven = 0  # rows marked unsent again, in all
        self.losses = 0  # losses noticed

    def since(self) -> str:
        """The oldest publication the stream must still hold: the retention, or the
        stream's max age less a margin, whichever is shorter."""
        window = min(self.retention, (self.stream.max_age or self.retention) - MARGIN)
        return iso(self.clock() - timedelta(seconds=max(window, 0.0)))

    def acked(self, seq: int, duplicate: bool) -> bool:
        """Record an acknowledgment; True if it shows the stream went backwards."""
        backwards = went_backwards(self.highest, seq, duplicate)
        if not duplicate:
            self.highest = seq if backwards else max(self.highest, seq)
        return backwards

    async def probe(self) -> str | None:
        """Whether the stream lost what the outbox published: why, or None. A missing
        stream is created again first. A probe that fails (the broker did not answer)
        leaves the stream suspect: the next pass probes again."""
        name = self.stream.name
        published = await self.outbox.published_counts(self.since())
        try:
            info = await self.js.stream_info(name, subjects_filter=">")
        except NotFoundError:
            await ensure_stream(self.js, self.stream)
            self.highest, self.suspect = 0, False
            return f"stream {name} was missing" if published else None
        self.highest, self.suspect = info.state.last_seq or 0, False
        if lost := lost_subjects(published, info.state.subjects or {}):
            return f"stream {name} holds fewer messages of {', '.join(lost[:3])}"
        return None

    async def redrive(self, reason: str, since: str | None = None) -> int:
        """Mark every retained row unsent again (re-published in order by the relay), or
        those published since ``since`` (ISO 8601; ``ValueError`` if it is not)."""
        start = self.since()
        if since is not None:
            start = max(start, stored_form(since))
        count = await self.outbox.redrive(start)
        self.redriven += count
        self.losses += 1
        log.warning("outbox_redrive", stream=self.stream.name, reason=reason, rows=count)
        return count


def stored_form(since: str) -> str:
    """``since`` (ISO 8601, any offset; naive is UTC) as text that compares with the
    stored ``published_at`` (UTC, ``Z``): in UTC and with its microseconds written out,
    so neither an offset nor a whole second puts rows of the window outside it."""
    moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
