"""Domain errors every service shares, and the one table per service that translates its
errors for the entrypoints (docs/internal-transport.md §1).

Handlers raise domain errors and nothing else; an HTTP route answers the problem the
table names (``create_service(errors=...)``), a gRPC servicer the status code derived
from it (``grpc_code``) with the same kind and facts in its trailing metadata. Nothing
here knows a framework: the table holds numbers and strings, the entrypoints speak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class DomainError(Exception):
    """A refusal by a service's rules; the message names the cause, ``facts`` are the
    details a caller may act on (a problem's extra members, a gRPC trailer)."""

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.facts = facts


class NotFound(DomainError):
    """The thing a command names does not exist (404 ``not-found``)."""


class InvalidInput(DomainError):
    """A request's field breaks its contract (an empty id, a count out of range): 422
    ``invalid-request``, as HTTP's schema validation answers. For entrypoints whose
    transport does not validate (gRPC's messages: ``mercato.chassis.rpc.fields``)."""


class DependencyUnavailable(DomainError):
    """Something the service needs (a provider, another service) cannot answer now; the
    caller may try again after ``retry_after`` seconds (503, ``Retry-After``; None: no
    header)."""

    def __init__(self, message: str, *, kind: str = "service-unavailable",
                 retry_after: int | None = 1, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.kind = kind
        self.retry_after = retry_after


class DependencyTimedOut(DependencyUnavailable):
    """Something the service needs did not answer in time (504)."""


@dataclass(frozen=True)
class Refusal:
    """How entrypoints answer one domain error: an HTTP status, a problem kind (the last
    segment of the problem's ``type``; ``None``: the error's own ``kind`` attribute, or
    the status's phrase), the facts a caller may act on (default: the error's ``facts``)
    and, for HTTP, a title other than the status's phrase."""

    status: int
    kind: str | None = None
    facts: Callable[[Any], Mapping[str, Any]] | None = None
    title: str | None = None  # a problem's title, when not the status's phrase


@dataclass(frozen=True)
class Answer:
    """A domain error as an entrypoint answers it: status, kind, detail, facts, and the
    seconds after which to try again, if any."""

    status: int
    kind: str | None
    detail: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    retry_after: int | None = None
    title: str | None = None


SHARED: dict[type[Exception], Refusal] = {
    NotFound: Refusal(404, "not-found"),
    InvalidInput: Refusal(422, "invalid-request"),
    DependencyTimedOut: Refusal(504),
    DependencyUnavailable: Refusal(503),
}


class ErrorTable:
    """One service's domain errors and their answers. An error is looked up along its
    class's MRO, so a table may answer a whole family with its base class; the shared
    errors above answer themselves unless the table says otherwise."""

    def __init__(self, entries: Mapping[type[Exception], Refusal]) -> None:
        self._entries = {**SHARED, **entries}

    def __iter__(self) -> Iterator[type[Exception]]:
        return iter(self._entries)

    def answer(self, exc: BaseException) -> Answer | None:
        """``exc`` as its entrypoint answers it, or None if the table does not know it
        (a bug: the entrypoint lets it become a 500)."""
        for cls in type(exc).__mro__:
            refusal = self._entries.get(cls)
            if refusal is not None:
                return _answer(exc, refusal)
        return None


def _answer(exc: BaseException, refusal: Refusal) -> Answer:
    kind = refusal.kind or getattr(exc, "kind", None)
    if refusal.facts is not None:
        facts = dict(refusal.facts(exc))
    else:
        facts = dict(getattr(exc, "facts", {}) or {})
    retry = getattr(exc, "retry_after", None)
    return Answer(refusal.status, kind, str(exc), facts, retry, refusal.title)


# The status code a gRPC entrypoint answers for each HTTP status (the mapping of
# google.rpc.Code to HTTP, read backwards); anything else: UNKNOWN.
GRPC_CODES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED", 404: "NOT_FOUND", 408: "DEADLINE_EXCEEDED",
    409: "FAILED_PRECONDITION", 413: "RESOURCE_EXHAUSTED", 422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def grpc_code(status: int) -> str:
    """The name of the ``grpc.StatusCode`` for an HTTP status (``UNKNOWN`` if none)."""
    return GRPC_CODES.get(status, "UNKNOWN")


# The other way, for a gRPC refusal that came without Mercato's trailers (gRPC's own: an
# expired deadline, a malformed message): google.rpc.Code's HTTP mapping.
HTTP_STATUSES = {
    "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409, "FAILED_PRECONDITION": 400,
    "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}


def http_status(code: str) -> int:
    """The HTTP status of a ``grpc.StatusCode`` name (500 if none)."""
    return HTTP_STATUSES.get(code, 500)
