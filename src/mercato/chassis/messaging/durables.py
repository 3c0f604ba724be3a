"""The JetStream durables of one process's consumers: made at start, and made again when
the broker lost them (docs/chaos.md F4).

A durable is the broker's record of how far a subscription got. When the broker loses its
store it is gone with the stream, and a fetch from it fails or waits forever; so a
consumer asks, after a failed fetch, after its connection came back, and when idle at
most every ``CHECK_EVERY`` seconds, whether its durable still exists, and if not makes it
again — from the stream's start (the re-driven events included): its inbox drops what it
had handled already.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from mercato.chassis.logging import get_logger
from mercato.chassis.messaging.dlq import replay_subject
from mercato.chassis.messaging.streams import ensure_stream, event_stream_config
from mercato.chassis.messaging.subscription import Subscription
from mercato.contracts.envelope import stream_for

log = get_logger(__name__)
CHECK_EVERY = 5.0  # seconds an idle consumer waits between checks that its durable exists


class Durables:
    """Makes the durable of each subscription (named by ``durable``) and checks it."""

    def __init__(self, js: JetStreamContext, durable: Callable[[Subscription], str],
                 ack_wait: float) -> None:
        self.js, self.durable, self.ack_wait = js, durable, ack_wait
        self.recreated = 0  # durables made again after the broker lost them
        self._check_at: dict[str, float] = {}  # per subscription: when to check its durable

    def reconnected(self) -> None:
        """The broker connection came back (perhaps to a broker without its store): check
        at the next idle moment that every durable still exists."""
        self._check_at.clear()

    async def bind(self, sub: Subscription):
        """Create (or update) the durable of ``sub`` and bind a pull subscription to it."""
        stream = stream_for(sub.source)
        try:  # made by the supervisor, as no service may change another's stream
            await self.js.stream_info(stream)
        except NotFoundError:  # a server of one's own (tests): make it here
            await ensure_stream(self.js, event_stream_config(sub.source))
        config = ConsumerConfig(
            durable_name=self.durable(sub), name=self.durable(sub),
            filter_subjects=[*(e.subject() for e in sub.events),
                             replay_subject(sub.source, self.durable(sub))],
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait, max_deliver=-1, max_ack_pending=1000,
        )
        try:  # creates it, or updates its filter; an existing one keeps its position
            await self.js.add_consumer(stream, config=config)
        except Exception as exc:
            log.warning("consumer_config_not_applied", consumer=self.durable(sub),
                        error=str(exc))
        return await self.js.pull_subscribe_bind(durable=self.durable(sub), stream=stream)

    async def rebind_if_lost(self, sub: Subscription, psub, *, now: bool = False):
        """The pull subscription to use from here: ``psub``, or a new one bound to the
        durable made again if it is gone. Asked at once with ``now`` (a failed fetch),
        else at most every ``CHECK_EVERY`` seconds (at once after a reconnect)."""
        loop = asyncio.get_running_loop()
        if not now and loop.time() < self._check_at.get(sub.name, 0.0):
            return psub
        self._check_at[sub.name] = loop.time() + CHECK_EVERY
        try:
            await self.js.consumer_info(stream_for(sub.source), self.durable(sub))
            return psub
        except NotFoundError:
            pass
        except Exception as exc:  # the broker is away: try again later
            log.info("consumer_check_failed", consumer=self.durable(sub), error=str(exc))
            return psub
        try:
            fresh = await self.bind(sub)
        except Exception as exc:  # e.g. its stream is not back yet
            log.warning("consumer_not_recreated", consumer=self.durable(sub), error=str(exc))
            return psub
        log.warning("consumer_recreated", consumer=self.durable(sub))
        self.recreated += 1
        with contextlib.suppress(Exception):
            await psub.unsubscribe()
        return fresh
