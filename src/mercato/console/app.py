"""The console's composition: its routes on the page kit (docs/web.md)."""

from __future__ import annotations

from pathlib import Path

from mercato.console import audit, dead_letters, orders, services
from mercato.console.access import SignInFirst, sign_in_first
from mercato.pages import Api, PageKit, page_app
from mercato.pages.session import Verify

HERE = Path(__file__).parent


def create_console(api: Api, verify: Verify, secret: str):
    kit = PageKit(api, verify, secret, HERE / "templates", {"home_url": "/console"})
    pages = [*services.routes(kit), *orders.routes(kit), *dead_letters.routes(kit),
             *audit.routes(kit)]
    return page_app(kit, pages, HERE / "static", {SignInFirst: sign_in_first})
