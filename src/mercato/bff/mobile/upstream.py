"""How the mobile BFF reads a service: one JSON answer, or ``UpstreamFailed`` naming the
service and why. ``ServiceUpstream`` calls through the chassis ``ServiceClient``
(deadlines, retries, breakers, bulkheads), acting for the signed-in user whose access
token the gateway forwarded; tests give the views a fake with the same ``json`` method.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from mercato.chassis import ServiceClient, Unavailable

# Seconds for each call, retries included; the outer bound adds a grace for whatever
# else could stall (the client's own deadline, which its breaker counts, ends it first).
CALL_TIMEOUT = 1.5
_GRACE = 0.5
# Routes for services only (an end user's token must not travel there: the route would
# take the call as the user's and refuse it).
SERVICE_ONLY = ("/internal/",)


class UpstreamFailed(Exception):
    """A service did not give what the view needs: unavailable, too slow, or it answered
    an error (``status``: its HTTP status when it answered one)."""

    def __init__(self, service: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
        self.status = status


class Upstream(Protocol):
    async def json(self, service: str, method: str, path: str,
                   body: Any = None) -> Any: ...


class ServiceUpstream:
    """The services as one request of one user sees them."""

    def __init__(self, client: ServiceClient, user_token: str | None, *,
                 timeout: float = CALL_TIMEOUT) -> None:
        self.client = client
        self.user_token = user_token
        self.timeout = timeout

    async def json(self, service: str, method: str, path: str, body: Any = None) -> Any:
        user = None if path.startswith(SERVICE_ONLY) else self.user_token
        try:
            async with asyncio.timeout(self.timeout + _GRACE):
                reply = await self.client.call(service, method, path, json_body=body,
                                               user=user, timeout=self.timeout)
        except Unavailable as exc:
            raise UpstreamFailed(service, exc.reason) from None
        except TimeoutError:
            raise UpstreamFailed(service, f"no answer within {self.timeout + _GRACE:g} s") \
                from None
        if reply.status != 200:
            raise UpstreamFailed(service, f"answered {reply.status}", reply.status)
        try:
            return reply.json()
        except ValueError:
            raise UpstreamFailed(service, "answered malformed JSON") from None


class CallBudgetExceeded(UpstreamFailed):
    """The request had made all the service calls it may; this one was not made."""

    def __init__(self, service: str, budget: int) -> None:
        calls = "call" if budget == 1 else "calls"
        super().__init__(service, f"not called: the request has spent its budget of "
                                  f"{budget} service {calls}")
        self.budget = budget


class CallBudget:
    """One GraphQL request's services: at most ``calls`` calls, whatever the query asks
    (the limits bound its shape; this bounds its fan-out, e.g. forty notifications' orders
    each read apart). A call over the budget is not made: ``CallBudgetExceeded``, which
    nulls the fields that needed it like any failed call."""

    def __init__(self, upstream: Upstream, calls: int) -> None:
        self.upstream = upstream
        self.calls = calls
        self.made = 0

    async def json(self, service: str, method: str, path: str, body: Any = None) -> Any:
        if self.made >= self.calls:
            raise CallBudgetExceeded(service, self.calls)
        self.made += 1
        return await self.upstream.json(service, method, path, body)
