"""A service's web side: the app factory with health and metrics, the request middleware,
problem+json errors, authentication and authorization, and serving one instance.

Public API: ``create_service``, ``problem_response``, ``serve_service``, ``bind``,
``Problem``, ``not_found``, ``problem_body``, ``PROBLEM_CONTENT_TYPE``, ``require_user``,
``require_admin``, ``require_service``, ``Principal``, ``AuthError``, ``KeysUnavailable``,
``ServiceTokens``, ``TokenVerifier``, ``bearer_token``.
"""

from mercato.chassis.web.app import create_service, problem_response
from mercato.chassis.web.deps import require_admin, require_service, require_user
from mercato.chassis.web.errors import PROBLEM_CONTENT_TYPE, Problem, not_found, problem_body
from mercato.chassis.web.security import (
    AuthError,
    KeysUnavailable,
    Principal,
    ServiceTokens,
    TokenVerifier,
    bearer_token,
)
from mercato.chassis.web.serve import bind, serve_service

__all__ = [
    "PROBLEM_CONTENT_TYPE", "AuthError", "KeysUnavailable", "Principal", "Problem",
    "ServiceTokens", "TokenVerifier", "bearer_token", "bind", "create_service", "not_found",
    "problem_body", "problem_response", "require_admin", "require_service", "require_user",
    "serve_service",
]
