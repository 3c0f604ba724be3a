"""Identity HTTP routes: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from mercato.chassis import Principal, require_user
from mercato.chassis.web import OneLine, Problem, problems
from mercato.services.identity.domain import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    InvalidEmail,
    NotAuthenticated,
    normalize_email,
)
from mercato.services.identity.handlers import Identity

router = APIRouter()


def _valid_email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise PydanticCustomError("email", "{reason}", {"reason": str(exc)}) from exc


Email = Annotated[StrictStr, Field(min_length=3, max_length=254), AfterValidator(_valid_email)]
Password = Annotated[StrictStr, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
# Signing in checks no format: any wrong address or password is the same 401.
LoginEmail = Annotated[StrictStr, Field(min_length=1, max_length=254)]
LoginPassword = Annotated[StrictStr, Field(min_length=1, max_length=PASSWORD_MAX)]
# Tokens must never be cached by a browser or a proxy (RFC 6749, section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    password: Password
    name: OneLine(200)


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: LoginEmail
    password: LoginPassword


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: Annotated[StrictStr, Field(min_length=1, max_length=512)]


class UserOut(BaseModel):
    """A user as answered (documented only: the handler's dict is sent as it is)."""
    id: str
    email: str
    name: str
    roles: list[str]


class ProfileOut(UserOut):
    """The caller's own profile: the user and their loyalty points (documented only)."""
    loyalty_points: int


class Tokens(BaseModel):
    """Signed in (or refreshed): a bearer access token for expires_in seconds, a refresh token."""
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: StrictInt


USER = {"model": UserOut}
TOKENS = {200: {"model": Tokens}}


async def identity(request: Request) -> Identity:
    return request.app.state.identity


def _unauthorized(exc: NotAuthenticated) -> Problem:
    """The table's 401 (errors.py) with the challenge only a route can add (RFC 6750)."""
    return Problem(401, str(exc), headers={"WWW-Authenticate": "Bearer"})


@router.post("/api/v1/identity/users", status_code=201, response_model=None,
             responses={**problems(409), 201: USER})
async def register(body: NewUser, handlers: Identity = Depends(identity)) -> dict:
    user = await handlers.register_user(body.email, body.password, body.name)
    return user.public()


@router.post("/api/v1/identity/token", response_model=None, responses=TOKENS)
async def sign_in(body: Credentials, handlers: Identity = Depends(identity)) -> JSONResponse:
    try:
        tokens = await handlers.sign_in(body.email, body.password)
    except NotAuthenticated as exc:
        raise _unauthorized(exc) from exc
    return JSONResponse(tokens, headers=NO_STORE)


@router.post("/api/v1/identity/token/refresh", response_model=None, responses=TOKENS)
async def refresh(body: RefreshRequest, handlers: Identity = Depends(identity)) -> JSONResponse:
    try:
        tokens = await handlers.refresh(body.refresh_token)
    except NotAuthenticated as exc:
        raise _unauthorized(exc) from exc
    return JSONResponse(tokens, headers=NO_STORE)


@router.get("/api/v1/identity/users/me", response_model=None,
            responses={**problems(404), 200: {"model": ProfileOut}})
async def me(principal: Principal = Depends(require_user),
             handlers: Identity = Depends(identity)) -> dict:
    return await handlers.profile(principal.subject)


@router.get("/.well-known/jwks.json")
async def jwks(handlers: Identity = Depends(identity)) -> JSONResponse:
    return JSONResponse(handlers.jwks(), headers={"Cache-Control": "public, max-age=300"})
