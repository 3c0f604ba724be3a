"""How the world reaches orders: the public API (``api``, and its version 2 ``api_v2``),
the customer's refund (``refund_api``), the admins' (``admin_api``), the other services'
(``internal_api``, ``projections_api``) and the events it consumes (``subscriptions``), and
what each domain error answers there (``ERRORS``, errors.py)."""

from __future__ import annotations

from fastapi import APIRouter

from mercato.services.orders.entrypoints.admin_api import router as admin_router
from mercato.services.orders.entrypoints.api import router as public_router
from mercato.services.orders.entrypoints.api_v2 import router as public_v2_router
from mercato.services.orders.entrypoints.internal_api import router as internal_router
from mercato.services.orders.entrypoints.projections_api import router as projections_router
from mercato.services.orders.entrypoints.refund_api import router as refund_router
from mercato.services.orders.entrypoints.subscriptions import subscriptions
from mercato.services.orders.errors import ERRORS

# The routers the service serves, in this order (``/orders/recent`` before the public
# ``/orders/{order_id}``).
ROUTERS: list[APIRouter] = [admin_router, public_router, public_v2_router, refund_router,
                            internal_router, projections_router]

__all__ = ["ERRORS", "ROUTERS", "subscriptions"]
