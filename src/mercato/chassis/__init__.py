"""The chassis every Mercato service stands on.

Public API:
- ``Settings``, ``load_settings`` — configuration from ``MERCATO_*`` variables
- ``Runtime``, ``create_service`` — a service process's infrastructure and web app
- ``serve_service`` — run one instance on a free port
- ``Problem`` — an error the client sees as RFC 9457 problem+json
- ``require_user``, ``require_admin``, ``require_service``, ``Principal`` — authorization
- ``ServiceClient``, ``Unavailable``, ``Reply`` — calls to other services by name
- ``Database``, ``SqliteDatabase`` — the database seam
"""

from mercato.chassis.calls import Reply, ServiceClient, Unavailable
from mercato.chassis.data import Database, SqliteDatabase
from mercato.chassis.runtime import Runtime
from mercato.chassis.security import Principal
from mercato.chassis.settings import Settings, load_settings
from mercato.chassis.web import (
    Problem,
    create_service,
    not_found,
    problem_response,
    require_admin,
    require_service,
    require_user,
    serve_service,
)

__all__ = [
    "Database", "Principal", "Problem", "Reply", "Runtime", "ServiceClient", "Settings",
    "SqliteDatabase", "Unavailable", "create_service", "load_settings", "not_found",
    "problem_response", "require_admin", "require_service", "require_user", "serve_service",
]
