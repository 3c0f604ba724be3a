"""The published language: integration event schemas, one module per publishing service;
data only. ``all_events()`` lists every event type, for the event catalog and decoding."""

from __future__ import annotations

from mercato.contracts import catalog, identity, inventory, loyalty, orders, payments, shipping
from mercato.contracts.envelope import Envelope, Event, stream_for, subject_for

PUBLISHERS = (catalog, identity, inventory, loyalty, orders, payments, shipping)


def all_events() -> dict[str, type[Event]]:
    """Every event class by type name."""
    found: dict[str, type[Event]] = {}
    for module in PUBLISHERS:
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Event) and value.SOURCE
                    and not value.__name__.startswith("_")):
                found[value.type_name()] = value
    return found


__all__ = ["Envelope", "Event", "all_events", "stream_for", "subject_for"]
