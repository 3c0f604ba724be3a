"""A fake of the services as the mobile BFF reads them: canned answers by path, every
call counted by service, and services that can be made to fail."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mercato.bff.mobile.upstream import UpstreamFailed

ORDER = {
    "id": "o-1", "status": "confirmed", "total": 3998, "currency": "USD",
    "created_at": "2026-12-07T03:00:00Z", "customer_id": "u-1",
    "items": [{"product_id": "p-1", "name": "Mug", "quantity": 1, "unit_price": 1999,
               "amount": 1999},
              {"product_id": "p-2", "name": "Tea", "quantity": 1, "unit_price": 1999,
               "amount": 1999}],
    "history": [{"status": "pending", "at": "2026-12-07T03:00:00Z", "reason": None},
                {"status": "confirmed", "at": "2026-12-07T03:00:02Z", "reason": None}],
    "progress": [],
}
PRODUCTS = {
    "p-1": {"id": "p-1", "sku": "MUG", "name": "Mug", "description": "a mug",
            "category": "kitchen", "price": 1999, "currency": "USD"},
    "p-2": {"id": "p-2", "sku": "TEA", "name": "Tea", "description": "tea",
            "category": "food", "price": 1999, "currency": "USD"},
}
NOTE = {"id": "n-1", "kind": "order_confirmed", "subject": "Your order is confirmed",
        "body": "...", "order_id": "o-1", "created_at": "2026-12-07T03:00:03Z"}


class FakeUpstream:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.paths: list[tuple[str, str, str, Any]] = []
        self.down: set[str] = set()
        self.orders = {"o-1": ORDER}
        self.notes = [NOTE]

    async def json(self, service: str, method: str, path: str, body: Any = None) -> Any:
        self.calls[service] += 1
        self.paths.append((service, method, path, body))
        await asyncio.sleep(0)  # an await, as a real call has: loaders batch across it
        if service in self.down:
            raise UpstreamFailed(service, "no answer within 2 s")
        return self._answer(service, path, body)

    def _answer(self, service: str, path: str, body: Any) -> Any:
        if service == "catalog" and path == "/internal/products/lookup":
            return {"products": {i: PRODUCTS[i] for i in body["ids"] if i in PRODUCTS}}
        if service == "catalog":
            return {"items": list(PRODUCTS.values()), "next_cursor": None}
        if service == "cart":
            return {"items": [{"product_id": "p-1", "quantity": 2, "unit_price": 1999},
                              {"product_id": "p-2", "quantity": 1, "unit_price": 1999}],
                    "total": 5997, "currency": "USD"}
        if service == "orders" and path.startswith("/api/v1/orders?"):
            return {"items": [{"id": "o-1", "status": "confirmed", "total": 3998,
                               "currency": "USD", "created_at": ORDER["created_at"],
                               "item_count": 2}]}
        if service == "orders":
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                raise UpstreamFailed("orders", "answered 404", 404)
            return order
        if service == "shipping":
            return {"items": [{"id": "s-1", "order_id": "o-1", "status": "label_created",
                               "tracking_number": "TRK1"}]}
        if service == "notifications":  # filtered by the repeatable order_id, if any
            query = parse_qs(urlsplit(path).query)
            wanted, limit = query.get("order_id"), int(query.get("limit", ["20"])[0])
            return {"items": [n for n in self.notes
                              if not wanted or n["order_id"] in wanted][:limit]}
        raise AssertionError(f"unexpected call {service} {path}")
