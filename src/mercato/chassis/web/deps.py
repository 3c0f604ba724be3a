"""FastAPI dependencies for authentication and authorization, shared by every service."""

from __future__ import annotations

from fastapi import Request

from mercato.chassis.security import SERVICE_ALGORITHM, AuthError, Principal, bearer_token
from mercato.chassis.web.errors import Problem


async def authenticate(request: Request) -> Principal:
    """The caller: a user with a valid access token, or a service with a service token."""
    runtime = request.app.state.runtime
    token = bearer_token(request.headers.get("authorization"))
    if _algorithm(token) == SERVICE_ALGORITHM:
        return runtime.tokens.verify(token)
    return await runtime.verifier.verify(token)


async def require_user(request: Request) -> Principal:
    principal = await authenticate(request)
    if principal.is_service:
        raise Problem(403, "this route is for users, not services")
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await require_user(request)
    if not principal.is_admin:
        raise Problem(403, "this route needs the admin role")
    return principal


async def require_service(request: Request) -> Principal:
    principal = await authenticate(request)
    if not principal.is_service:
        raise Problem(403, "this route is for other services only")
    return principal


def _algorithm(token: str) -> str:
    import jwt

    try:
        return str(jwt.get_unverified_header(token).get("alg", ""))
    except jwt.PyJWTError as exc:
        raise AuthError(f"malformed token: {exc}") from exc
