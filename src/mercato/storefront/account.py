"""Register, sign in, sign out: identity's tokens go into HttpOnly cookies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.pages import PageKit
from mercato.pages.session import clear_tokens, set_tokens


def safe_next(value: str | None) -> str:
    """A local path to go on to after signing in (never another site)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value[:500]
    return "/"


def routes(kit: PageKit) -> list[Route]:
    async def signin_form(request: Request):
        await kit.visitor(request)
        return kit.render(request, "signin.html",
                          {"next": safe_next(request.query_params.get("next")), "values": {},
                           "errors": {}})

    async def signin(request: Request):
        form = await kit.form(request)
        values = {"email": str(form.get("email", "")).strip()}
        password = str(form.get("password", ""))
        after = safe_next(str(form.get("next", "")))
        errors, status = {}, 400
        if not values["email"]:
            errors["email"] = "Enter your email."
        if not password:
            errors["password"] = "Enter your password."
        if not errors:
            reply = await kit.call(request, "POST", "/api/v1/identity/token", anonymous=True,
                                   json={"email": values["email"], "password": password})
            if reply.status == 200:
                response = kit.redirect(request, after)
                set_tokens(request, response, reply.json())
                return response
            if reply.status == 401:
                errors["form"] = "The email or the password is wrong."
            elif reply.status == 429:
                status = 429
                errors["form"] = (f"Too many sign-ins; try again in "
                                  f"{reply.headers.get('retry-after', 'a few')} seconds.")
            elif reply.status == 422:
                errors = reply.field_errors() or {"form": reply.problem()}
            else:
                errors["form"] = reply.problem()
        return kit.render(request, "signin.html",
                          {"next": after, "values": values, "errors": errors}, status=status)

    async def register_form(request: Request):
        await kit.visitor(request)
        return kit.render(request, "register.html", {"values": {}, "errors": {}})

    async def register(request: Request):
        form = await kit.form(request)
        values = {k: str(form.get(k, "")).strip() for k in ("name", "email")}
        password = str(form.get("password", ""))
        reply = await kit.call(request, "POST", "/api/v1/identity/users", anonymous=True,
                               json={**values, "password": password})
        if reply.status == 201:
            token = await kit.call(request, "POST", "/api/v1/identity/token", anonymous=True,
                                   json={"email": values["email"], "password": password})
            response = kit.redirect(request, "/" if token.ok else "/signin")
            if token.ok:
                set_tokens(request, response, token.json())
            return response
        if reply.status == 409:
            errors = {"email": "An account with this email already exists."}
        elif reply.status == 422:
            errors = reply.field_errors() or {"form": reply.problem()}
        else:
            errors = {"form": reply.problem()}
        return kit.render(request, "register.html", {"values": values, "errors": errors},
                          status=400 if reply.status < 500 else 503)

    async def signout(request: Request):
        await kit.form(request)
        response: Response = kit.redirect(request, "/")
        clear_tokens(response)
        return response

    return [Route("/signin", signin_form), Route("/signin", signin, methods=["POST"]),
            Route("/register", register_form), Route("/register", register, methods=["POST"]),
            Route("/signout", signout, methods=["POST"])]
