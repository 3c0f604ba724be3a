"""The console's composition: its routes on the page kit (docs/web.md)."""

from __future__ import annotations

from pathlib import Path

from mercato.console import (
    audit,
    dead_letters,
    deployments,
    events,
    metrics,
    orders,
    services,
    stock,
)
from mercato.console.access import SignInFirst, sign_in_first
from mercato.pages import Api, PageKit, page_app
from mercato.pages.session import Verify

HERE = Path(__file__).parent
PAGES = (services, orders, events, dead_letters, deployments, stock, metrics, audit)


def create_console(api: Api, verify: Verify, secret: str):
    kit = PageKit(api, verify, secret, HERE / "templates", {"home_url": "/console"})
    return page_app(kit, [route for page in PAGES for route in page.routes(kit)],
                    HERE / "static", {SignInFirst: sign_in_first})
