"""Where the gateway sends a browser: the console under ``/console``, the storefront for
every other path that is not the JSON API, a probe or the metrics (docs/web.md)."""

from __future__ import annotations

import time

from mercato.chassis.logging import get_logger

log = get_logger(__name__)
NOT_PAGES = ("/api/", "/.well-known/", "/health/")
CONSOLE = "/console"


def is_page_path(path: str) -> bool:
    return not path.startswith(NOT_PAGES) and path != "/metrics"


def page_route(path: str, status: int) -> str:
    """A low-cardinality ``http.route`` for a page: its first segment or two, never an id."""
    if status == 404:
        return "unmatched"
    parts = path.strip("/").split("/")
    if parts[0] == "console":
        head = "/console/" + (parts[1] if len(parts) > 1 else "")
        return head + ("/*" if len(parts) > 2 else "")
    return "/" + parts[0] + ("/*" if len(parts) > 1 else "")


class Pages:
    """The storefront and the console apps, one ASGI callable for the gateway."""

    def __init__(self, storefront, console) -> None:
        self.storefront = storefront
        self.console = console

    async def __call__(self, scope, receive, send) -> int:
        """Serve the page; its status (500 if the app failed before answering)."""
        status = 0

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = scope["path"]
        if path == CONSOLE or path.startswith(CONSOLE + "/"):
            app, scope = self.console, {**scope, "root_path": CONSOLE,
                                        "path": path if path != CONSOLE else CONSOLE + "/"}
        else:
            app = self.storefront
        started = time.perf_counter()
        try:
            await app(scope, receive, sending)
        except Exception:  # Starlette re-raises after its error page has been sent
            if status == 0:
                log.exception("page_failed", path=path)
                status = 500
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
            elif status < 500:
                log.exception("page_failed_after_answer", path=path)
        if status == 0:
            log.warning("page_unanswered", path=path,
                        ms=round((time.perf_counter() - started) * 1000, 1))
        return status or 500
