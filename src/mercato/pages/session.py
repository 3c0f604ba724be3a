"""Who is looking at a page: the visitor's tokens live in cookies, never in JavaScript.

Signing in stores identity's access token and refresh token in two ``HttpOnly;
SameSite=Lax`` cookies (``Secure`` when the page came over TLS). Each page verifies the
access token with the platform's own verifier; one that has expired is renewed with the
refresh token (``POST /api/v1/identity/token/refresh``) and the new pair is set on the
page's answer. A refresh that is refused signs the visitor out. Nothing is kept on the
server, so gateway replicas share nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from mercato.chassis.security import AuthError, KeysUnavailable, Principal
from mercato.pages.api import Api

ACCESS_COOKIE = "mercato_access"
REFRESH_COOKIE = "mercato_refresh"
Verify = Callable[[str], Awaitable[Principal]]


@dataclass
class Visitor:
    principal: Principal | None = None
    token: str | None = None
    renewed: dict | None = None  # new tokens to set on the answer
    signed_out: bool = False  # cookies to clear on the answer

    @property
    def signed_in(self) -> bool:
        return self.principal is not None

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.is_admin

    def apply(self, request: Request, response: Response) -> Response:
        """Set renewed tokens on (or clear stale ones from) ``response``."""
        if self.renewed is not None:
            set_tokens(request, response, self.renewed)
        elif self.signed_out:
            clear_tokens(response)
        return response


async def visitor(request: Request, api: Api, verify: Verify) -> Visitor:
    access = request.cookies.get(ACCESS_COOKIE)
    refresh = request.cookies.get(REFRESH_COOKIE)
    if access:
        try:
            return Visitor(await verify(access), access)
        except KeysUnavailable:
            return Visitor()  # identity's keys unknown for now: anonymous, cookies kept
        except AuthError:
            pass
    if not refresh:
        return Visitor(signed_out=bool(access))
    reply = await api.request("POST", "/api/v1/identity/token/refresh",
                              json={"refresh_token": refresh}, client=_client(request))
    if reply.status != 200:
        return Visitor(signed_out=reply.status in (400, 401, 422))
    tokens = reply.json()
    try:
        principal = await verify(tokens["access_token"])
    except (AuthError, KeysUnavailable, KeyError):
        return Visitor(signed_out=True)
    return Visitor(principal, tokens["access_token"], renewed=tokens)


def set_tokens(request: Request, response: Response, tokens: dict) -> None:
    secure = request.url.scheme == "https"
    for name, key in ((ACCESS_COOKIE, "access_token"), (REFRESH_COOKIE, "refresh_token")):
        response.set_cookie(name, tokens[key], httponly=True, samesite="lax", secure=secure,
                            path="/")


def clear_tokens(response: Response) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, samesite="lax")


def _client(request: Request) -> tuple[str, int] | None:
    return (request.client.host, request.client.port) if request.client else None
