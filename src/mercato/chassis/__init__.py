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
"""

from mercato.chassis.calls import Reply, ServiceClient, Unavailable
from mercato.chassis.data import Conflict, Connection, Database, SqliteDatabase
from mercato.chassis.errors import (
    DependencyTimedOut,
    DependencyUnavailable,
    DomainError,
    ErrorTable,
    NotFound,
    Refusal,
)
from mercato.chassis.runtime import Runtime
from mercato.chassis.security import Principal
from mercato.chassis.settings import Settings, load_settings
from mercato.chassis.web import (
    create_service,
    require_admin,
    require_service,
    require_user,
    serve_service,
)

__all__ = [
    "Conflict", "Connection", "Database", "DependencyTimedOut", "DependencyUnavailable",
    "DomainError", "ErrorTable", "NotFound", "Principal", "Refusal", "Reply",
    "Runtime", "ServiceClient", "Settings", "SqliteDatabase", "Unavailable",
    "create_service", "load_settings", "require_admin",
    "require_service", "require_user", "serve_service",
]
