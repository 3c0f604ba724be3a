"""The ids of one checkout's reservation, payment and shipment, derived from the order id.

Shared language, not code reuse for its own sake: the orchestrator (orders) and the
choreographed participants (inventory, payments, shipping) must name the same things, so a
retried or duplicated command, or the same checkout run in either mode, never acts twice.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f1d3c2e-6d0b-4f55-9a5e-2b8e0f4d7c11")


def derived_id(order_id: str, what: str) -> str:
    """``what`` is ``reservation``, ``payment`` or ``shipment``."""
    return str(uuid.uuid5(NAMESPACE, f"{order_id}/{what}"))


def reservation_id(order_id: str) -> str:
    return derived_id(order_id, "reservation")


def payment_id(order_id: str) -> str:
    return derived_id(order_id, "payment")


def shipment_id(order_id: str) -> str:
    return derived_id(order_id, "shipment")
