"""The two ways a checkout runs: orchestrated by the saga runner (``runner``, its
``decisions`` and ``spans``), or choreographed, orders tracking the participants' events
(``choreography``); docs/checkout.md and docs/choreography.md."""

from mercato.services.orders.checkout.choreography import ChoreographyTracker
from mercato.services.orders.checkout.runner import SagaRunner

__all__ = ["ChoreographyTracker", "SagaRunner"]
