"""What a phone is sent: the services' answers cut down to the fields a small screen
shows. Pure functions over the services' JSON (docs/api.md); no I/O."""

from __future__ import annotations

from typing import Any


def compact_product(product: dict[str, Any]) -> dict[str, Any]:
    """A product card: id, name, price in minor units and its currency. (The catalog
    keeps no images yet: the design's ``image`` waits for one.)"""
    return {"id": product["id"], "name": product["name"], "price": product["price"],
            "currency": product["currency"]}


def cart_item_count(cart: dict[str, Any]) -> int:
    """Units in the cart (the badge on the cart icon), not lines."""
    return sum(int(line["quantity"]) for line in cart["items"])


def last_order(orders: dict[str, Any]) -> dict[str, Any] | None:
    """The newest order's id, status and time (orders lists newest first); None for a
    customer who has none."""
    items = orders["items"]
    if not items:
        return None
    newest = items[0]
    return {"id": newest["id"], "status": newest["status"],
            "created_at": newest["created_at"]}


def timeline(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Each status the order went through and when, oldest first, from orders v1's
    ``history`` (a reason only where one was given: a cancellation, a failed payment)."""
    entries = []
    for step in order["history"]:
        entry = {"status": step["status"], "at": step["at"]}
        if step.get("reason"):
            entry["reason"] = step["reason"]
        entries.append(entry)
    return entries


def compact_order(order: dict[str, Any]) -> dict[str, Any]:
    """An order for a phone: status, money, lines (name and quantity) and the timeline."""
    return {"id": order["id"], "status": order["status"], "total": order["total"],
            "currency": order["currency"], "created_at": order["created_at"],
            "items": [{"product_id": line["product_id"], "name": line.get("name"),
                       "quantity": line["quantity"]} for line in order["items"]],
            "timeline": timeline(order)}
