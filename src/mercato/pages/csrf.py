"""CSRF protection for every state-changing form: the signed double-submit cookie.

Each browser gets a random ``mercato_csrf`` cookie (``HttpOnly; SameSite=Strict``); every
form carries ``csrf`` = HMAC-SHA256(key, that cookie). A POST whose field does not match
its cookie's HMAC is refused before anything is done. The key is derived from the
platform's service secret, so every gateway replica accepts every other one's tokens and no
state is kept. (OWASP CSRF cheat sheet, "signed double-submit cookie".)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

CSRF_COOKIE = "mercato_csrf"
CSRF_FIELD = "csrf"


class Csrf:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"mercato-pages-csrf:" + secret.encode()).digest()

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(24)

    def token(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.token(cookie), token)


def cookie_of(request: Request) -> str:
    """The browser's CSRF cookie, or the one the middleware is about to set."""
    return request.scope.get("mercato.csrf_cookie") or request.cookies.get(CSRF_COOKIE, "")


async def checked_form(request: Request, csrf: Csrf) -> FormData:
    """The POSTed form, once its CSRF token is checked; 403 otherwise."""
    form = await request.form()
    if not csrf.valid(request.cookies.get(CSRF_COOKIE), str(form.get(CSRF_FIELD) or "")):
        raise HTTPException(403, "This form has expired or did not come from this site. "
                                 "Reload the page and try again.")
    return form
