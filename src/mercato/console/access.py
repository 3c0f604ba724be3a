"""Who may see the console: admins. Anonymous visitors are sent to sign in; anyone else
gets a 403 page."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from mercato.pages import PageKit, Visitor


class SignInFirst(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


async def admin(kit: PageKit, request: Request) -> Visitor:
    who = await kit.visitor(request)
    if not who.signed_in:
        raise SignInFirst("/signin?next=" + quote(request.url.path, safe="/"))
    if not who.is_admin:
        raise HTTPException(403, "The console is for administrators. Your account is a "
                                 "customer's.")
    return who


async def sign_in_first(request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, SignInFirst)
    return RedirectResponse(exc.url, status_code=303)
