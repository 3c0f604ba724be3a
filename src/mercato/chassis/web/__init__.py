"""A service's web side: the app factory with health and metrics, the request middleware,
problem+json errors, authentication and authorization, and serving one instance.

Public API: ``create_service``, ``problem_response``, ``serve_service``, ``bind``,
``Problem``, ``not_found``, ``problem_body``, ``PROBLEM_CONTENT_TYPE``, ``require_user``,
``require_admin``, ``require_service(*callers)``, ``allowlist``, ``USER_HEADER``, and
``problems(*statuses)`` / ``declare_problems`` for the OpenAPI document (openapi.py),
``OneLine`` for a one-line text field. User
tokens and principals are in ``mercato.chassis.security``, service tokens in
``mercato.chassis.identity`` (shared with ``calls``, which presents them).

Loaded on first use (``lazy_loader``), as every face of the chassis: importing one
module of this package does not import the others.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "app": ["create_service", "problem_response"],
    "deps": ["USER_HEADER", "allowlist", "require_admin", "require_service", "require_user"],
    "errors": ["PROBLEM_CONTENT_TYPE", "Problem", "not_found", "problem_body"],
    "openapi": ["declare_problems", "problems"],
    "serve": ["bind", "serve_service"],
    "text": ["OneLine"],
})
