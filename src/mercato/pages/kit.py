"""The kit the storefront and the console are built with: one ``PageKit`` per app.

It renders Jinja2 templates (the app's own folder first, then the kit's shared ones, e.g.
``error.html``; autoescaped), knows the visitor (pages/session.py), checks forms
(pages/csrf.py) and makes the visitor's calls of the public API. ``page_app`` wraps an
app's routes with its static files, error pages, gzip and the page headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from mercato.chassis.logging import get_logger
from mercato.pages.api import Api, ApiReply
from mercato.pages.cache import PublicCache
from mercato.pages.csrf import CSRF_FIELD, Csrf, checked_form, cookie_of
from mercato.pages.middleware import PageHeaders
from mercato.pages.session import Verify, Visitor, visitor

log = get_logger(__name__)
KIT = Path(__file__).parent


class PageKit:
    def __init__(self, api: Api, verify: Verify, secret: str, templates: Path,
                 globals_: dict[str, Any] | None = None, public_ttl: float = 1.0) -> None:
        self.api = api
        self.public_cache = PublicCache(public_ttl)
        self.verify = verify
        self.csrf = Csrf(secret)
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates),
                                        jinja2.FileSystemLoader(KIT / "templates")]),
            autoescape=True, auto_reload=False, trim_blocks=True, lstrip_blocks=True)
        env.globals.update(globals_ or {})
        env.filters["money"] = money
        self.templates = Jinja2Templates(env=env)

    async def visitor(self, request: Request) -> Visitor:
        """The visitor of this request (verified once per request)."""
        known = request.scope.get("mercato.visitor")
        if known is None:
            known = await visitor(request, self.api, self.verify)
            request.scope["mercato.visitor"] = known
        return known

    async def form(self, request: Request) -> FormData:
        return await checked_form(request, self.csrf)

    async def call(self, request: Request, method: str, path: str, *, json: Any = None,
                   headers: dict[str, str] | None = None, anonymous: bool = False) -> ApiReply:
        """One public API call as this visitor (their token, their address)."""
        who = None if anonymous else await self.visitor(request)
        client = (request.client.host, request.client.port) if request.client else None
        return await self.api.request(method, path, token=who.token if who else None,
                                      json=json, headers=headers, client=client)

    async def public(self, request: Request, path: str) -> ApiReply:
        """An anonymous GET of public data (the same for every visitor), micro-cached
        (pages/cache.py)."""
        return await self.public_cache.get(
            path, lambda: self.call(request, "GET", path, anonymous=True))

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None,
               status: int = 200) -> Response:
        who = request.scope.get("mercato.visitor") or Visitor()
        ctx = {"visitor": who, "csrf_field": CSRF_FIELD,
               "csrf_token": self.csrf.token(cookie_of(request)), **(context or {})}
        response = self.templates.TemplateResponse(request, name, ctx, status_code=status)
        return who.apply(request, response)

    def redirect(self, request: Request, url: str) -> Response:
        who = request.scope.get("mercato.visitor") or Visitor()
        return who.apply(request, RedirectResponse(url, status_code=303))


def money(amount: int | None, currency: str = "USD") -> str:
    """Minor units as a price: 1999, "USD" -> "$19.99"."""
    if amount is None:
        return "—"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    text = f"{amount // 100:,}.{amount % 100:02d}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def allowed(request: Request) -> str:
    """``Allow`` for a 405: every method of the routes that take this path (Starlette's
    names only the first one that matched), HEAD where GET is."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return ", ".join(m for m in order if m in methods)


def page_app(kit: PageKit, routes: list[BaseRoute], static: Path,
             handlers: dict | None = None) -> Any:
    """The app's routes, its static files under ``/static`` (the kit's under
    ``/static/kit``), HTML error pages (and the app's own ``handlers``), gzip and the page
    headers."""

    async def error_page(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Something went wrong."
        if status >= 500 and not isinstance(exc, HTTPException):
            log.exception("page_failed", path=request.url.path, exc_info=exc)
        try:
            await kit.visitor(request)
        except Exception:  # the error page must not fail on who is looking
            pass
        page = kit.render(request, "error.html", {"status": status, "detail": detail},
                          status=status)
        if status == 405:
            page.headers["Allow"] = allowed(request)
        return page

    mounts = [Mount("/static/kit", StaticFiles(directory=KIT / "static"), name="kit"),
              Mount("/static", StaticFiles(directory=static), name="static")]
    return Starlette(
        routes=[*routes, *mounts],
        middleware=[Middleware(PageHeaders),
                    Middleware(GZipMiddleware, minimum_size=600, compresslevel=6)],
        exception_handlers={HTTPException: error_page, Exception: error_page,
                            **(handlers or {})})
