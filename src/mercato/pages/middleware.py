"""Headers every page answer carries, and the CSRF cookie every browser gets.

A pure ASGI middleware (no body buffering): it adds the security headers to each answer,
``Cache-Control`` (``no-store`` for pages, an hour for static files, which also carry an
ETag from Starlette's StaticFiles), and sets the ``mercato_csrf`` cookie on the first answer
to a browser that has none (the value is put in the scope first, so the page rendered in
the same request signs its forms with it).
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from mercato.pages.csrf import CSRF_COOKIE, Csrf

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
SECURITY = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
STATIC_CACHE = b"public, max-age=3600"


class PageHeaders:
    def __init__(self, app, *, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(self.static_prefix, len(scope.get("root_path", "")))
        new_cookie = None
        if not static and not _has_cookie(scope, CSRF_COOKIE):
            new_cookie = Csrf.new_cookie()
            scope["mercato.csrf_cookie"] = new_cookie

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() != b"cache-control" or not static]
                headers += SECURITY
                if static:
                    headers.append((b"cache-control", STATIC_CACHE))
                elif not any(h[0].lower() == b"cache-control" for h in headers):
                    headers.append((b"cache-control", b"no-store"))
                if new_cookie is not None:
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    headers.append((b"set-cookie", (
                        f"{CSRF_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Strict"
                        f"{secure}").encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _has_cookie(scope, name: str) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: treat as absent
                return False
            if name in jar:
                return True
    return False
