"""The mobile BFF's views for one request; they speak the chassis' domain errors (the
compact order: ``NotFound``, ``DependencyUnavailable``), which the chassis answers as
problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mercato.bff.mobile.graphql import MobileGraphQL
from mercato.bff.mobile.shaping import compact_order
from mercato.bff.mobile.upstream import Upstream, UpstreamFailed
from mercato.chassis import DependencyUnavailable, NotFound


@dataclass
class MobileViews:
    upstream: Upstream
    graphql: MobileGraphQL
    featured: int

    async def order(self, order_id: str) -> dict[str, Any]:
        """The compact order with its timeline; orders' 404 (not found, or not the
        caller's) is this answer's, any other failure a 503."""
        try:
            order = await self.upstream.json("orders", "GET",
                                             f"/api/v1/orders/{quote(order_id, safe='')}")
        except UpstreamFailed as exc:
            if exc.status == 404:
                raise NotFound(f"order {order_id} was not found") from None
            raise DependencyUnavailable(str(exc)) from None
        return compact_order(order)
