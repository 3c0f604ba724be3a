"""How the gateway ends a request early: raise ``Reply`` anywhere on the request path and
the edge answers it as a problem+json response."""

from __future__ import annotations


class Reply(Exception):
    """Ends a request early with a problem response (status, detail, extra headers)."""

    def __init__(self, status: int, detail: str, headers: dict | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}
