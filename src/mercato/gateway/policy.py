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


# The first segment after /api/<version>/ names the service that owns the path (in this
# order wherever they are listed: identity first, it serves the keys every token check needs).
ROUTED_SERVICES = ("identity", "catalog", "inventory", "cart", "orders", "payments",
                   "shipping", "notifications", "loyalty")
# Paths under one service's segment that another serves: the longest prefix wins over the
# segment (the customer's ledger is read where the profile is, but loyalty keeps it).
PREFIX_OWNERS: tuple[tuple[str, str], ...] = (
    ("/api/v1/identity/users/me/loyalty", "loyalty"),
)
LOCAL_PREFIXES = ("ops", "storefront")  # answered by the gateway itself (storefront.py)
# Backends-for-frontends, each its own process under its own prefix (docs/mobile.md).
BFF_PREFIXES = {"/api/mobile/": "mobile-bff"}


@dataclass(frozen=True)
class Prefix:
    """``/api/<version>/<segment>/...`` is routed to ``service`` (None: the gateway)."""
    version: str
    segment: str
    service: str | None


# What each version of the API routes: all of v1; of v2, the orders resource alone.
PREFIXES = ([Prefix("v1", s, s) for s in ROUTED_SERVICES]
            + [Prefix("v1", s, None) for s in LOCAL_PREFIXES]
            + [Prefix("v2", "orders", "orders")])
_PREFIX = {(p.version, p.segment): p for p in PREFIXES}
VERSIONS = tuple(dict.fromkeys(p.version for p in PREFIXES))


@dataclass(frozen=True)
class Successor:
    """A deprecated rule: ``methods`` on paths matching ``pattern`` have a newer version,
    ``template`` (expanded with the pattern's groups, as ``re`` does: ``\\g<id>``)."""
    methods: frozenset[str]
    pattern: re.Pattern
    template: str

    def of(self, method: str, path: str) -> str | None:
        if method not in self.methods:
            return None
        found = self.pattern.match(path)
        return found.expand(self.template) if found else None


# v1 routes with a v2 successor; their answers say so (versions.py). The admin's
# /api/v1/orders/summary and /recent, and the cancel, have none.
SUCCESSORS = (
    Successor(frozenset({"GET", "HEAD", "POST"}), re.compile(r"^/api/v1/orders$"),
              "/api/v2/orders"),
    Successor(frozenset({"GET", "HEAD"}),
              re.compile(r"^/api/v1/orders/(?!(summary|recent)$)(?P<id>[^/]+)$"),
              r"/api/v2/orders/\g<id>"),
)

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
    version: str = "v1"
    successor: str | None = None  # deprecated: the path of its successor


def resolve(method: str, path: str) -> Route | None:
    """The service, access level, version and successor (when deprecated) for a request,
    or None when nothing serves the path."""
    if path == "/.well-known/jwks.json":
        return Route("identity", Access.PUBLIC) if method in ("GET", "HEAD") else None
    for prefix, bff in BFF_PREFIXES.items():
        if path.startswith(prefix):  # every view acts for a signed-in user
            return Route(bff, Access.USER)
    parts = path.split("/", 4)
    if len(parts) < 4 or parts[1] != "api":
        return None
    prefix = _PREFIX.get((parts[2], parts[3]))
    if prefix is None:
        return None
    access = next((a for methods, pattern, a in _RULES
                   if method in methods and pattern.match(path)), Access.USER)
    successor = next((p for s in SUCCESSORS if (p := s.of(method, path)) is not None), None)
    return Route(_prefix_owner(path) or prefix.service, access, prefix.version, successor)


def _prefix_owner(path: str) -> str | None:
    """The service of the longest ``PREFIX_OWNERS`` prefix ``path`` is (or is under)."""
    found = [(len(prefix), service) for prefix, service in PREFIX_OWNERS
             if path == prefix or path.startswith(prefix + "/")]
    return max(found)[1] if found else None
