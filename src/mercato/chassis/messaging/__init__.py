"""Reliable messaging: transactional outbox, relay, JetStream streams, idempotent
consumers with an inbox, and dead letters. See docs/messaging.md.

Public API: ``Outbox``, ``Relay``, ``Subscription``, ``Consumers``, ``Broadcast``,
``Broadcasts``, ``ensure_streams``, ``list_dead_letters``, ``replay_dead_letter``.
"""

from mercato.chassis.messaging.broadcast import Broadcast, Broadcasts
from mercato.chassis.messaging.consumer import Consumers, NotYet, Subscription
from mercato.chassis.messaging.dlq import DeadLetter, list_dead_letters, replay_dead_letter
from mercato.chassis.messaging.outbox import Outbox
from mercato.chassis.messaging.relay import Relay
from mercato.chassis.messaging.streams import ensure_streams
from mercato.chassis.messaging.subscription import choreographed

__all__ = ["Broadcast", "Broadcasts", "Consumers", "DeadLetter", "NotYet", "Outbox", "Relay",
           "Subscription", "choreographed", "ensure_streams", "list_dead_letters",
           "replay_dead_letter"]
