"""The orders read models: tables of their own, fed from the event store by the projector.

- ``order_list``: each customer's orders, newest first (``GET /api/v1/orders``);
- ``order_detail``: one order with its history (``GET /api/v1/orders/{id}``);
- ``sales``: confirmed orders and revenue per day and per product (``.../summary``).
"""

from __future__ import annotations

from mercato.services.orders.projections.order_detail import OrderDetail
from mercato.services.orders.projections.order_list import OrderList
from mercato.services.orders.projections.projector import Projection, Projector
from mercato.services.orders.projections.sales import SalesSummary
from mercato.services.orders.projections.views import OrderViews


def read_models() -> list[Projection]:
    return [OrderList(), OrderDetail(), SalesSummary()]


__all__ = ["OrderViews", "Projection", "Projector", "read_models"]
