"""Who may call what: the gateway's routing and access table, in one place.

Services check authorization again themselves (defence in depth); the gateway's check
turns away unauthenticated and unauthorized calls before they cost an upstream hop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Access(Enum):
    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"


# The first segment after /api/v1/ names the service that owns the path (in this order
# wherever they are listed: identity first, it serves the keys every token check needs).
ROUTED_SERVICES = ("identity", "catalog", "inventory", "cart", "orders", "payments",
                   "shipping", "notifications")
LOCAL_PREFIXES = ("ops", "storefront")  # answered by the gateway itself (storefront.py)
# Backends-for-frontends, each its own process under its own prefix (docs/mobile.md).
BFF_PREFIXES = {"/api/mobile/": "mobile-bff"}

_RULES: list[tuple[frozenset[str], re.Pattern, Access]] = [
    (frozenset({"POST"}), re.compile(r"^/api/v1/identity/(users|token|token/refresh)$"),
     Access.PUBLIC),
    (frozenset({"GET", "HEAD"}), re.compile(r"^/api/v1/catalog/(products(/[^/]+)?|categories)$"),
     Access.PUBLIC),
    (frozenset({"GET", "HEAD"}), re.compile(r"^/api/v1/inventory/stock/[^/]+$"), Access.PUBLIC),
    (frozenset({"POST", "PATCH", "PUT", "DELETE"}), re.compile(r"^/api/v1/catalog/"),
     Access.ADMIN),
    (frozenset({"POST", "PUT", "PATCH", "DELETE"}), re.compile(r"^/api/v1/inventory/"),
     Access.ADMIN),
    (frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"}), re.compile(r"^/api/v1/ops/"),
     Access.ADMIN),
    (frozenset({"GET", "HEAD"}), re.compile(r"^/api/v1/orders/(summary|recent)$"), Access.ADMIN),
    # The storefront view: any signed-in user; orders decides whose order it is.
    (frozenset({"GET"}), re.compile(r"^/api/v1/storefront/orders/[^/]+$"), Access.USER),
]


@dataclass(frozen=True)
class Route:
    service: str | None  # None: answered by the gateway
    access: Access


def resolve(method: str, path: str) -> Route | None:
    """The service and access level for a request, or None when nothing serves the path."""
    if path == "/.well-known/jwks.json":
        return Route("identity", Access.PUBLIC) if method in ("GET", "HEAD") else None
    for prefix, bff in BFF_PREFIXES.items():
        if path.startswith(prefix):  # every view acts for a signed-in user
            return Route(bff, Access.USER)
    if not path.startswith("/api/v1/"):
        return None
    segment = path[8:].split("/", 1)[0]
    if segment in ROUTED_SERVICES:
        service = segment
    elif segment in LOCAL_PREFIXES:
        service = None
    else:
        return None
    for methods, pattern, access in _RULES:
        if method in methods and pattern.match(path):
            return Route(service, access)
    return Route(service, Access.USER)
