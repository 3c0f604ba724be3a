"""FastAPI dependencies for authentication and authorization, shared by every service.

Every request to a service carries the calling workload's service token
(``Authorization: Bearer``, chassis/identity/tokens.py): the gateway's for what it
forwards, another service's for its own calls. An end user's access token is never a
service's credential: it travels in ``X-Mercato-User`` next to the gateway's token and
counts only when the gateway vouches for it, so a user token sent to a service's own port
gets a 401 (the gateway's rate limits and checks cannot be walked around).

``require_service("orders", ...)`` declares, next to an internal route, which services may
call it; ``allowlist(routers)`` collects the declarations (docs/zero-trust.md, tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from mercato.chassis.identity.tokens import USER_HEADER
from mercato.chassis.security import AuthError, Principal, bearer_token
from mercato.chassis.tls.peer import PEER_KEY
from mercato.chassis.web.errors import Problem

# The workloads that may act for an end user, and with which methods: the gateway with
# any, the mobile BFF only reading — it passes on the token the gateway checked and
# forwarded to it, and never writes for the user (docs/zero-trust.md).
USER_FORWARDERS: dict[str, frozenset[str] | None] = {
    "gateway": None, "mobile-bff": frozenset({"GET", "HEAD"})}


async def caller(request: Request) -> Principal:
    """The workload that sent this request, proven by its service token (else 401).
    Every service router depends on it (``create_service``)."""
    known = request.scope.get("mercato.caller")
    if known is None:
        identity = request.app.state.runtime.identity
        try:
            known = identity.verify(bearer_token(request.headers.get("authorization")))
        except AuthError as exc:
            raise AuthError(f"{exc} (services take calls from other services and from "
                            "the gateway only)") from None
        peer = request.scope.get(PEER_KEY)  # mTLS: the client certificate's workload
        if peer is not None and peer != known.subject:
            raise AuthError(f"a service token of {known.subject} over a connection with "
                            f"{peer}'s certificate")
        request.scope["mercato.caller"] = known
    return known


async def authenticate(request: Request) -> Principal:
    """On behalf of whom: the end user the gateway forwards, else the calling service."""
    service = await caller(request)
    forwarded = request.headers.get(USER_HEADER)
    if forwarded is None:
        return service
    if service.subject not in USER_FORWARDERS:
        raise Problem(403, f"{service.subject} may not act on behalf of a user",
                      kind="caller-not-allowed")
    methods = USER_FORWARDERS[service.subject]
    if methods is not None and request.method not in methods:
        raise Problem(403, f"{service.subject} may only read on behalf of a user, "
                           f"not {request.method}", kind="caller-not-allowed")
    return await request.app.state.runtime.verifier.verify(forwarded)


async def require_user(request: Request) -> Principal:
    """FastAPI dependency: the signed-in user the request acts for (401 without one,
    403 for a service calling on its own behalf)."""
    principal = await authenticate(request)
    if principal.subject in USER_FORWARDERS and principal.is_service:
        raise AuthError("this route needs a signed-in user")  # the gateway forwarded none
    if principal.is_service:
        raise Problem(403, "this route is for users, not services")
    return principal


async def require_admin(request: Request) -> Principal:
    """FastAPI dependency: the signed-in user, who must hold the admin role (else 403)."""
    principal = await require_user(request)
    if not principal.is_admin:
        raise Problem(403, "this route needs the admin role")
    return principal


def require_service(*callers: str) -> Callable:
    """A dependency: the route is for the services named, no one else (403 naming the
    caller). Declared next to each internal route, e.g. payments' refund: ``"orders"``."""
    if not callers:
        raise ValueError("name the services that may call this route")
    allowed = frozenset(callers)

    async def calling_service(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.is_service:
            raise Problem(403, "this route is for other services only",
                          kind="caller-not-allowed")
        if principal.subject not in allowed:
            route = request.scope.get("route")
            raise Problem(403, f"{principal.subject} may not call "
                          f"{request.method} {getattr(route, 'path', request.url.path)} "
                          f"(allowed: {', '.join(sorted(allowed))})",
                          kind="caller-not-allowed")
        return principal

    calling_service.callers = allowed  # type: ignore[attr-defined]
    return calling_service


def allowlist(routers: Iterable[APIRouter]) -> dict[str, list[str]]:
    """``"METHOD /path"`` → the services allowed, for every route of ``routers`` that
    declares a list (``create_service`` keeps its app's in ``app.state.allowlist``)."""
    found: dict[str, list[str]] = {}
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            stack = list(route.dependant.dependencies)
            while stack:
                dep = stack.pop()
                callers = getattr(dep.call, "callers", None)
                if callers is not None:
                    for method in sorted(route.methods):
                        found[f"{method} {route.path}"] = sorted(callers)
                stack.extend(dep.dependencies)
    return found
