"""What the storefront and the console stand on: the public API seen from a page, cookie
sessions, CSRF, security headers, static files and templates (docs/web.md)."""

from mercato.pages.api import Api, ApiReply
from mercato.pages.kit import PageKit, money, page_app
from mercato.pages.session import Visitor

__all__ = ["Api", "ApiReply", "PageKit", "Visitor", "money", "page_app"]
