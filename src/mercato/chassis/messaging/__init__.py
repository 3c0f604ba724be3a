"""Reliable messaging: transactional outbox, relay, JetStream streams, idempotent
consumers with an inbox, and dead letters. See docs/messaging.md.

Public API: ``Outbox``, ``Relay``, ``Subscription``, ``Consumers``, ``Broadcast``,
``Broadcasts``, ``ensure_streams``, ``list_dead_letters``, ``replay_dead_letter``.

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "broadcast": ["Broadcast", "Broadcasts"],
    "consumer": ["Consumers", "NotYet", "Subscription"],
    "dlq": ["DeadLetter", "list_dead_letters", "replay_dead_letter"],
    "outbox": ["Outbox"],
    "relay": ["Relay"],
    "streams": ["ensure_streams"],
    "subscription": ["choreographed"],
})
