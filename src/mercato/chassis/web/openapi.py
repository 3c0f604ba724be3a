"""What a service's OpenAPI document says about its errors: every answer it can give.

FastAPI documents a route's success and, where it takes input, a 422 with its own
validation body as ``application/json``. A service answers more, and in another shape: the
chassis refuses a request without a workload token (401), a caller the route does not
name (403), a body over the limit (413) and a request whose caller stopped waiting (503),
malformed JSON is a 400, and every error is ``application/problem+json`` (RFC 9457,
errors.py). ``declare_problems`` adds those to the document the app serves, so a client
(and schemathesis, tests/contract/) can hold every answer to its schema; a route declares
its own domain answers (404, 409, 429, ...) with ``problems(...)``.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from mercato.chassis.web.errors import PROBLEM_CONTENT_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details; a problem may carry more members.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "correlation_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
# What the chassis answers on any route that takes a workload token (app.py, deps.py,
# middleware.py); and on any route with parameters or a body.
GUARDED = (401, 403, 413, 503)
WITH_INPUT = (400, 422)
VERBS = ("get", "put", "post", "delete", "patch", "head", "options")


def problem(status: int, description: str | None = None) -> dict:
    """One response object: ``status``'s problem+json answer."""
    return {"description": description or HTTPStatus(status).phrase,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": PROBLEM_REF}}}}


def problems(*statuses: int) -> dict[int | str, dict]:
    """``responses=`` for a route: the problem answers it gives besides the chassis' own."""
    return {status: problem(status) for status in statuses}


def declare_problems(document: dict, open_paths: frozenset[str] = frozenset()) -> dict:
    """``document`` with the Problem schema, the chassis' answers on every operation
    outside ``open_paths`` (probes: no token asked), 400/422 where there is input and 404
    where the path names something; FastAPI's own 422 body is replaced (not ours)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for verb, operation in item.items():
            if verb not in VERBS:
                continue
            responses = operation.setdefault("responses", {})
            wanted = [] if path in open_paths else list(GUARDED)
            if operation.get("parameters") or operation.get("requestBody"):
                wanted += WITH_INPUT
            if "{" in path:
                wanted.append(404)
            for status in wanted:
                declared = responses.get(str(status))
                if declared is None or PROBLEM_CONTENT_TYPE not in declared.get("content", {}):
                    responses[str(status)] = problem(status)
    schemas = document["components"]["schemas"]
    if not _refers(document, "HTTPValidationError"):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document


def _refers(document: dict, name: str) -> bool:
    return f'"#/components/schemas/{name}"' in json.dumps(document.get("paths", {}))
