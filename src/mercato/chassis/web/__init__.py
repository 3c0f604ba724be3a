"""A service's web side: the app factory with health and metrics, the request middleware,
problem+json errors, authentication and authorization, and serving one instance.

Public API: ``create_service``, ``problem_response``, ``serve_service``, ``bind``,
``Problem``, ``not_found``, ``problem_body``, ``PROBLEM_CONTENT_TYPE``, ``require_user``,
``require_admin``, ``require_service(*callers)``, ``allowlist``, ``USER_HEADER``, and
``problems(*statuses)`` / ``declare_problems`` for the OpenAPI document (openapi.py),
``OneLine`` for a one-line text field. User
tokens and principals are in ``mercato.chassis.security``, service tokens in
``mercato.chassis.identity`` (shared with ``calls``, which presents them).
"""

from mercato.chassis.web.app import create_service, problem_response
from mercato.chassis.web.deps import (
    USER_HEADER,
    allowlist,
    require_admin,
    require_service,
    require_user,
)
from mercato.chassis.web.errors import PROBLEM_CONTENT_TYPE, Problem, not_found, problem_body
from mercato.chassis.web.openapi import declare_problems, problems
from mercato.chassis.web.serve import bind, serve_service
from mercato.chassis.web.text import OneLine

__all__ = [
    "PROBLEM_CONTENT_TYPE", "USER_HEADER", "OneLine", "Problem", "allowlist", "bind",
    "create_service", "declare_problems", "not_found", "problem_body", "problem_response",
    "problems", "require_admin", "require_service", "require_user", "serve_service",
]
