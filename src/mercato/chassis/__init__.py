"""The chassis every Mercato service stands on.

Public API:
- ``Settings``, ``load_settings`` — configuration from ``MERCATO_*`` variables
- ``Runtime``, ``create_service`` — a service process's infrastructure and web app
- ``serve_service`` — run one instance on a free port
- (``Problem``, the RFC 9457 answer, is the web layer's: ``mercato.chassis.web``, for
  entrypoints only; handlers raise domain errors)
- ``DomainError``, ``NotFound``, ``DependencyUnavailable``, ``DependencyTimedOut``,
  ``ErrorTable``, ``Refusal`` — what handlers raise, and each service's one translation
- ``require_user``, ``require_admin``, ``require_service``, ``Principal`` — authorization
- ``ServiceClient``, ``Unavailable``, ``Reply`` — calls to other services by name
- ``Database``, ``Connection``, ``Conflict``, ``SqliteDatabase`` — the database seam

The names are loaded on first use (``lazy_loader``): importing one module of the chassis
(``mercato.chassis.settings``, the migration child's ``mercato.chassis.data.migrations``)
does not import every face of it (FastAPI, aiohttp, NATS, asyncpg...), which every
``mercato`` process paid for at start-up.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "calls": ["Reply", "ServiceClient", "Unavailable"],
    "data": ["Conflict", "Connection", "Database", "SqliteDatabase"],
    "errors": ["DependencyTimedOut", "DependencyUnavailable", "DomainError", "ErrorTable",
               "NotFound", "Refusal"],
    "runtime": ["Runtime"],
    "security": ["Principal"],
    "settings": ["Settings", "load_settings"],
    "web": ["create_service", "require_admin", "require_service", "require_user",
            "serve_service"],
})
