"""One GraphQL request's DataLoaders: every product the query touches is read in ONE
catalog call, each order, shipment list and notification list once, the cart once —
however many fields ask for them. Made per request (a loader's cache is the request's,
never another user's); a failed batch fails the fields that wanted it, and only those.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from aiodataloader import DataLoader

from mercato.bff.mobile.upstream import Upstream, UpstreamFailed

NOTIFICATIONS_PAGE = 200  # the most notifications answers in one page
NOTIFICATIONS_ORDERS = 20  # the most order ids its list takes in one call


class Loaders:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        # the catalog's lookup takes at most 500 ids a call
        self.products = DataLoader(self._products, max_batch_size=500)
        self.orders = DataLoader(self._orders)
        self.shipments = DataLoader(self._shipments)
        self.notifications = DataLoader(self._notifications,
                                        max_batch_size=NOTIFICATIONS_ORDERS)
        self.cart = DataLoader(self._cart)

    async def _products(self, ids: Sequence[str]) -> list[dict | None]:
        """Catalog's lookup of several products (the web BFF's too); None for an id the
        catalog does not have."""
        found = (await self.upstream.json("catalog", "POST", "/internal/products/lookup",
                                          {"ids": list(ids)}))["products"]
        return [found.get(pid) for pid in ids]

    async def _orders(self, ids: Sequence[str]) -> list[Any]:
        """Orders v1 by id, in parallel (orders has no batch read); None for one that is
        not found or not the caller's (orders answers 404 for both)."""
        async def one(order_id: str) -> Any:
            try:
                return await self.upstream.json("orders", "GET",
                                                f"/api/v1/orders/{quote(order_id, safe='')}")
            except UpstreamFailed as exc:
                return None if exc.status == 404 else exc
        return list(await asyncio.gather(*map(one, ids)))

    async def _shipments(self, order_ids: Sequence[str]) -> list[Any]:
        """Each order's shipments, oldest first (shipping lists them by order only)."""
        async def one(order_id: str) -> Any:
            try:
                page = await self.upstream.json(
                    "shipping", "GET", f"/api/v1/shipping/shipments?order_id={quote(order_id)}")
            except UpstreamFailed as exc:
                return exc
            return page["items"]
        return list(await asyncio.gather(*map(one, order_ids)))

    async def _notifications(self, order_ids: Sequence[str]) -> list[list[dict]]:
        """The messages about each order, up to 20 orders in one call (the list's
        repeatable ``order_id`` filter), grouped by order. The page of 200 bounds them all
        together (ten messages an order on average, more than an order's events send);
        when it comes back full, an order's older messages may be past its end, so each
        order is asked again alone and gets its own 200."""
        items = await self._notes(order_ids)
        if len(items) < NOTIFICATIONS_PAGE or len(order_ids) == 1:
            by_order: dict[str, list[dict]] = defaultdict(list)
            for item in items:
                by_order[item.get("order_id") or ""].append(item)
            return [by_order.get(oid, []) for oid in order_ids]
        return list(await asyncio.gather(*(self._notes([oid]) for oid in order_ids)))

    async def _notes(self, order_ids: Sequence[str]) -> list[dict]:
        query = urlencode([("limit", NOTIFICATIONS_PAGE),
                           *(("order_id", oid) for oid in order_ids)])
        return (await self.upstream.json("notifications", "GET",
                                         f"/api/v1/notifications?{query}"))["items"]

    async def _cart(self, keys: Sequence[str]) -> list[dict]:
        cart = await self.upstream.json("cart", "GET", "/api/v1/cart")
        return [cart for _ in keys]
