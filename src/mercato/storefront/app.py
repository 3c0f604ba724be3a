"""The storefront's composition: its routes on the page kit (docs/web.md)."""

from __future__ import annotations

from pathlib import Path

from mercato.pages import Api, PageKit, page_app
from mercato.pages.session import Verify
from mercato.storefront import account, basket, browse, checkout, orders

HERE = Path(__file__).parent


def create_storefront(api: Api, verify: Verify, secret: str):
    kit = PageKit(api, verify, secret, HERE / "templates", {"home_url": "/"})
    routes = [*browse.routes(kit), *account.routes(kit), *basket.routes(kit),
              *checkout.routes(kit), *orders.routes(kit)]
    return page_app(kit, routes, HERE / "static")
