"""One error shape everywhere: RFC 9457 problem details.

``Problem`` is raised by handlers and API code; ``problem_body`` renders it. Validation
errors name the offending field; no stack trace ever reaches a client.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

PROBLEM_TYPE_BASE = "https://mercato.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """An error the client should see: status, a short title, a detail naming the cause."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.kind = kind or self.title.lower().replace(" ", "-")
        self.headers = headers or {}
        self.extra = extra


def not_found(what: str) -> Problem:
    """The 404 problem "<what> was not found"."""
    return Problem(404, f"{what} was not found")


def problem_body(
    status: int,
    title: str,
    detail: str,
    correlation_id: str,
    kind: str | None = None,
    **extra: Any,
) -> bytes:
    """The JSON body of a problem response."""
    body: dict[str, Any] = dict(extra)  # the standard members below always win
    body.update({
        "type": PROBLEM_TYPE_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        "correlation_id": correlation_id,
    })
    return json.dumps(body).encode()


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[int, str, list[dict]]:
    """Turn pydantic/FastAPI validation errors into (status, detail, field errors).

    Malformed JSON is a 400; a well-formed body with bad fields is a 422 whose detail
    names each field.
    """
    fields = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        if err.get("type") == "json_invalid":
            return 400, f"the request body is not valid JSON: {err.get('msg', '')}", []
        field = ".".join(loc) or "body"
        fields.append({"field": field, "message": err.get("msg", "invalid")})
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return 422, detail, fields
