"""The storefront view of one order, composed by the gateway itself (a backend-for-frontend).

``GET /api/v1/storefront/orders/{id}`` reads the order from orders with the caller's own
bearer token (so orders decides who may see it: the customer who placed it, or an admin),
then asks, in parallel, catalog for the products of its lines, payments for its payments,
shipping for its shipments and notifications for the messages sent about it — each call
bounded by the section timeout and guarded by the chassis' breakers and bulkheads
(``runtime.client``, docs/resilience.md). A section whose dependency does not answer in
time, is refused (open breaker, full bulkhead, no instance) or answers an error becomes
``{"unavailable": true, "reason": "..."}``: the view degrades, it does not fail. The order
is the one part without a fallback: orders down is a 503 with ``Retry-After``; its 4xx
answers (404 for an order that is not the caller's) are the whole answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from typing import Any

from mercato.chassis.calls.client import Reply as ServiceReply
from mercato.chassis.calls.client import ServiceClient, Unavailable
from mercato.chassis.identity.tokens import USER_HEADER
from mercato.chassis.logging import get_logger
from mercato.gateway.errors import Reply

log = get_logger(__name__)
STOREFRONT_ORDER = re.compile(r"^/api/v1/storefront/orders/([A-Za-z0-9_.:-]{1,100})$")
ORDER_TIMEOUT = 2.0  # seconds for the order itself
SECTION_TIMEOUT = 1.5  # seconds for each section, retries included
# The outer bound on a section: the client's own deadline (which the breaker counts) should
# end it first; this one holds whatever else could stall (a fake, a bug).
_GRACE = 0.5


class SectionFailed(Exception):
    """A section's dependency answered, but not with what the view needs."""


class Storefront:
    def __init__(self, client: ServiceClient, *, order_timeout: float = ORDER_TIMEOUT,
                 section_timeout: float = SECTION_TIMEOUT) -> None:
        self.client = client
        self.order_timeout = order_timeout
        self.section_timeout = section_timeout

    async def answer(self, method: str, path: str,
                     headers: dict[str, str]) -> tuple[int, bytes, bytes]:
        """(status, content type, body) for a storefront request; ``headers`` are sent on
        every call (the caller's access token as the user acted for, the request id)."""
        match = STOREFRONT_ORDER.match(path)
        if method != "GET" or match is None:
            raise Reply(404, f"no storefront route {method} {path}")
        order_id = match.group(1)
        reply = await self._order(order_id, headers)
        if reply.status != 200:  # 404 (not found, or not the caller's), 401, 403 ...
            return (reply.status, reply.headers.get("Content-Type", "application/json")
                    .encode(), reply.body)
        order = reply.json()
        view = await self.compose(order, headers)
        return 200, b"application/json", json.dumps(view).encode()

    async def compose(self, order: dict, headers: dict[str, str]) -> dict:
        oid = order["id"]
        product_ids = list(dict.fromkeys(line["product_id"] for line in order["items"]))
        products, payment, shipment, notifications = await asyncio.gather(
            self._section("catalog", self._products(product_ids, headers)),
            self._section("payments", self._latest(
                "payments", f"/api/v1/payments?order_id={oid}", headers)),
            self._section("shipping", self._latest(
                "shipping", f"/api/v1/shipping/shipments?order_id={oid}", headers)),
            self._section("notifications", self._items(
                "notifications", f"/api/v1/notifications?order_id={oid}", headers)),
        )
        return {"order": order, "products": products, "payment": payment,
                "shipment": shipment, "notifications": notifications}

    async def _order(self, order_id: str, headers: dict[str, str]) -> ServiceReply:
        try:
            reply = await self.client.call("orders", "GET", f"/api/v1/orders/{order_id}",
                                           headers=headers, timeout=self.order_timeout)
        except Unavailable as exc:
            raise Reply(503, str(exc), {"Retry-After": str(exc.retry_after or 1)}) from None
        if reply.status >= 500:
            raise Reply(503, f"orders answered {reply.status}", {"Retry-After": "1"})
        return reply

    async def _section(self, service: str, work: Awaitable[Any]) -> Any:
        try:
            async with asyncio.timeout(self.section_timeout + _GRACE):
                return await work
        except Unavailable as exc:
            reason = exc.reason
        except TimeoutError:
            reason = f"no answer within {self.section_timeout + _GRACE:g} s"
        except (SectionFailed, ValueError, KeyError, TypeError) as exc:
            reason = str(exc) or type(exc).__name__
        log.info("storefront_section_unavailable", service=service, reason=reason)
        return {"unavailable": True, "reason": f"{service}: {reason}"}

    async def _products(self, ids: list[str], headers: dict[str, str]) -> dict:
        """Each line's product as catalog has it now; None for one catalog no longer has.
        One call (catalog's lookup, as the gateway itself) for all the lines."""
        own = {k: v for k, v in headers.items() if k != USER_HEADER}
        found = (await self._json("catalog", "POST", "/internal/products/lookup",
                                  json_body={"ids": ids}, headers=own))["products"]
        return {pid: found.get(pid) for pid in ids}

    async def _latest(self, service: str, path: str, headers: dict[str, str]) -> dict | None:
        """The newest of the order's items (payments and shipments come oldest first);
        None while there is none yet."""
        items = await self._items(service, path, headers)
        return items[-1] if items else None

    async def _items(self, service: str, path: str, headers: dict[str, str]) -> list:
        items = (await self._json(service, "GET", path, headers=headers))["items"]
        if not isinstance(items, list):
            raise SectionFailed("answered a malformed list")
        return items

    async def _json(self, service: str, method: str, path: str, **kw: Any) -> Any:
        reply = await self.client.call(service, method, path, timeout=self.section_timeout,
                                       **kw)
        if reply.status != 200:
            raise SectionFailed(f"answered {reply.status}")
        return reply.json()


def storefront_path(path: str) -> bool:
    return path.startswith("/api/v1/storefront/")

