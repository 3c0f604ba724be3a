"""Every event orders consumes, listed in one place: only the choreographed checkout's
(docs/choreography.md), one subscription per participant's stream; orchestrated, the saga
runner hears the participants' answers over HTTP instead."""

from __future__ import annotations

from fastapi import FastAPI

from mercato.chassis.messaging import Subscription, choreographed
from mercato.contracts import all_events
from mercato.services.orders.choreography import ChoreographyTracker
from mercato.services.orders.domain.choreography import EVENT_TYPES


def subscriptions(app: FastAPI) -> list[Subscription]:
    tracker: ChoreographyTracker = app.state.tracker
    events = all_events()
    heard = [events[name] for name in EVENT_TYPES]
    return [
        choreographed(f"checkout_{source}", tuple(e for e in heard if e.SOURCE == source),
                      tracker.on_event, own_transaction=False)
        for source in ("inventory", "payments", "shipping")
    ]
