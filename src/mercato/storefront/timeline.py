"""An order's way through checkout and delivery, as the shopper sees it."""

from __future__ import annotations

from dataclasses import dataclass

STEPS = [
    ("placed", "Order placed"),
    ("reserved", "Stock reserved"),
    ("paid", "Payment authorized"),
    ("shipment_scheduled", "Shipment scheduled"),
    ("confirmed", "Confirmed"),
    ("shipped", "Shipped"),
    ("delivered", "Delivered"),
]
STATUS_STEP = {"pending": "placed", "confirmed": "confirmed", "shipped": "shipped",
               "delivered": "delivered", "refunded": "delivered"}  # refunded once delivered
REASONS = {
    "out_of_stock": "Out of stock",
    "payment_declined": "Payment declined",
    "payment_unavailable": "The payment service did not answer",
    "shipping_unavailable": "Shipping could not be scheduled",
    "customer_request": "Cancelled at your request",
    "expired": "The order expired before it could be completed",
}
FINAL = ("delivered", "cancelled", "refunded")


@dataclass
class Step:
    key: str
    label: str
    at: str | None
    done: bool


def reason_words(reason: str | None) -> str:
    if not reason:
        return "Cancelled"
    return REASONS.get(reason, reason.replace("_", " ").capitalize())


def steps(order: dict) -> list[Step]:
    """Every step, with its time when orders recorded one; a step before the furthest one
    reached is done even without a time (the status says it was passed)."""
    at = {p.get("step"): p.get("at") for p in order.get("progress") or []}
    for change in order.get("history") or []:
        key = STATUS_STEP.get(change.get("status"))
        if key:
            at.setdefault(key, change.get("at"))
    keys = [k for k, _ in STEPS]
    reached = [keys.index(k) for k in at if k in keys]
    status_key = STATUS_STEP.get(order.get("status", ""))
    if status_key:
        reached.append(keys.index(status_key))
    furthest = max(reached, default=0)
    return [Step(k, label, at.get(k), i <= furthest) for i, (k, label) in enumerate(STEPS)]


def cancellation(order: dict) -> dict | None:
    if order.get("status") != "cancelled":
        return None
    when = next((c.get("at") for c in reversed(order.get("history") or [])
                 if c.get("status") == "cancelled"), None)
    return {"reason": reason_words(order.get("reason")), "at": when}
