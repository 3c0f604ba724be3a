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

Either way the retained rows are marked unsent again and the relay re-publishes them in
their order, with their event ids as ``Nats-Msg-Id``; the consumers' inboxes drop those
they handled already. No clock is compared with the broker's.

**Only what a consumer still needs.** Re-driving the whole retention grows with it: a
10-minute chaos run re-drove up to 20 000 rows per loss (7 days would be millions), and
the inboxes dropped 94 000 duplicates. So the guard follows how far every durable
consumer of its stream got (``advance``, every few seconds: a consumer with nothing
pending has everything up to the stream's last sequence, others their ack floor), maps
that stream sequence back to the outbox rows it published, and an automatic re-drive
starts after the last row every durable had acknowledged (``watermark``: kept below
any row still awaiting a consumer, since rows are not always published in their order).
A durable seen once and missing now (being made again after a loss) holds the floor
where it is; so does a full ``sent`` (``MAX_TRACKED``). Dead letters are acknowledged too,
but the DLQ is lost with the same store: while it holds any of this stream's, a re-drive
takes the whole retention, and they are dead-lettered again. What
the guard learnt is in memory: a relay that restarted re-drives the whole retention
once, as before. After a partial re-drive the older rows are not in the stream any more,
so the stream's metadata says from which row on it should hold them (``BASELINE``), and
the probe counts only those. An operator's ``--since`` re-drive is never shortened.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from mercato.chassis.clock import Clock, iso, utc_now
from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.outbox import Outbox
from mercato.chassis.messaging.streams import DLQ_STREAM, DLQ_SUBJECT_PREFIX, ensure_stream

log = get_logger(__name__)
MARGIN = 3600.0  # seconds: rows this close to the stream's max age may have aged out of it
BASELINE = "mercato.redriven_after"  # stream metadata: rows up to this seq are not in it
MAX_TRACKED = 200_000  # published rows awaiting their consumers that the guard follows


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
        self.sent: deque[tuple[int, int]] = deque()  # (stream seq, outbox seq) not consumed
        self.untracked = 0  # the first row not put in ``sent`` (it was full), 0: none
        self.consumed = 0  # the outbox seq up to which every durable consumer acknowledged
        self.durables: set[str] = set()  # durable consumers ever seen on the stream
        self.created = None  # when the stream ``advance`` last saw was made (its identity)
        self.dead_letters = 0  # dead letters of this stream's consumers the DLQ holds

    def since(self) -> str:
        """The oldest publication the stream must still hold: the retention, or the
        stream's max age less a margin, whichever is shorter."""
        window = min(self.retention, (self.stream.max_age or self.retention) - MARGIN)
        return iso(self.clock() - timedelta(seconds=max(window, 0.0)))

    def acked(self, seq: int, duplicate: bool, row: int = 0) -> bool:
        """Record an acknowledgment of outbox row ``row``; True if it shows the stream
        went backwards."""
        backwards = went_backwards(self.highest, seq, duplicate)
        if not duplicate:
            self.highest = seq if backwards else max(self.highest, seq)
            if backwards:
                self._forget_sent()  # sequences of the stream that was lost
            if len(self.sent) < MAX_TRACKED:
                self.sent.append((seq, row))
            elif not self.untracked:
                self.untracked = row
        return backwards

    def watermark(self) -> int:
        """The row up to which every row is known consumed: ``consumed``, kept below any
        row still awaiting a consumer — rows are published out of their order when a
        PostgreSQL sequence's transactions commit out of it — and below the first row
        not tracked."""
        rows = [row for _, row in self.sent] + ([self.untracked] if self.untracked else [])
        return min([self.consumed, *(row - 1 for row in rows)])

    def _forget_sent(self) -> None:
        self.consumed, self.untracked = self.watermark(), 0
        self.sent.clear()

    async def advance(self) -> None:
        """Move ``consumed`` up to the rows every durable consumer of the stream has
        acknowledged (see the module's docstring)."""
        if self.suspect or not self.sent:
            return
        name, losses = self.stream.name, self.losses
        info = await self.js.stream_info(name)
        consumers = [c for c in await self.js.consumers_info(name) if c.config.durable_name]
        names = {c.name for c in consumers}
        self.dead_letters = await self._dead_letters(names)
        if self.suspect or self.losses != losses:
            return  # a loss was noticed meanwhile: these figures may be the lost stream's
        if self.created is not None and info.created != self.created:
            self._forget_sent()  # another stream of the same name: what was sent is gone
        self.created = info.created
        self.durables |= names
        if not consumers or names != self.durables:
            return
        floor = min(info.state.last_seq if not c.num_pending and not c.num_ack_pending
                    else c.ack_floor.stream_seq for c in consumers)
        while self.sent and self.sent[0][0] <= floor:
            self.consumed = max(self.consumed, self.sent.popleft()[1])

    async def _dead_letters(self, durables: set[str]) -> int:
        """The dead letters of ``durables`` the DLQ holds: acknowledged by their consumer,
        yet lost with the broker's store unless the whole retention is re-driven."""
        try:
            dlq = await self.js.stream_info(DLQ_STREAM, subjects_filter=f"{DLQ_SUBJECT_PREFIX}.>")
        except NotFoundError:
            return 0
        held = dlq.state.subjects or {}
        return sum(held.get(f"{DLQ_SUBJECT_PREFIX}.{name}", 0) for name in durables)

    async def probe(self) -> str | None:
        """Whether the stream lost what the outbox published: why, or None. A missing
        stream is created again first. A probe that fails (the broker did not answer)
        leaves the stream suspect: the next pass probes again."""
        name = self.stream.name
        try:
            info = await self.js.stream_info(name, subjects_filter=">")
        except NotFoundError:
            published = await self.outbox.published_counts(self.since())
            await ensure_stream(self.js, self.stream)
            self.highest, self.suspect = 0, False
            return f"stream {name} was missing" if published else None
        baseline = int((info.config.metadata or {}).get(BASELINE, 0))
        published = await self.outbox.published_counts(self.since(), after=baseline)
        self.highest, self.suspect = info.state.last_seq or 0, False
        if lost := lost_subjects(published, info.state.subjects or {}):
            return f"stream {name} holds fewer messages of {', '.join(lost[:3])}"
        return None

    async def redrive(self, reason: str, since: str | None = None) -> int:
        """Mark the retained rows not every durable consumer had acknowledged unsent
        again (re-published in order by the relay), or, for an operator, every row
        published since ``since`` (ISO 8601; ``ValueError`` if it is not)."""
        start, after = self.since(), 0
        if since is not None:
            start = max(start, stored_form(since))
        elif not self.dead_letters:  # else re-driven whole: they go back to the DLQ
            after = self.watermark()
        try:
            count = await self.outbox.redrive(start, after)
        except Exception:
            self.suspect = True  # not re-driven: the next pass probes and tries again
            raise
        self._forget_sent()
        self.redriven += count
        self.losses += 1
        log.warning("outbox_redrive", stream=self.stream.name, reason=reason, rows=count,
                    after_row=after)
        if since is None:
            await self._mark_baseline(after)
        return count

    async def _mark_baseline(self, after: int) -> None:
        """Write on the stream from which outbox row on it holds the events (a stream
        made again after the loss has no metadata yet: a baseline of 0). Best effort: a
        baseline not written makes a later probe see a loss and re-drive again."""
        try:
            info = await self.js.stream_info(self.stream.name)
            metadata = {**(info.config.metadata or {}), BASELINE: str(after)}
            await self.js.update_stream(replace(info.config, metadata=metadata))
        except Exception as exc:
            log.warning("outbox_baseline_failed", stream=self.stream.name, error=str(exc))


def stored_form(since: str) -> str:
    """``since`` (ISO 8601, any offset; naive is UTC) as text that compares with the
    stored ``published_at`` (UTC, ``Z``): in UTC and with its microseconds written out,
    so neither an offset nor a whole second puts rows of the window outside it."""
    moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
