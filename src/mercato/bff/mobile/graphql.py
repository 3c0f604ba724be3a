"""Running one GraphQL request on ariadne: persisted queries (Apollo's
``extensions.persistedQuery`` by SHA-256, kept in a bounded in-memory registry), the limits
(limits.py: depth, tokens, aliases, introspection off in production), a budget of service
calls, and each error entry naming the service that failed.

A request refused before it runs (syntax, validation, depth, an unknown persisted query)
has no ``data``; ``MobileGraphQL.run`` reports it so the route answers 400. A service
that fails while it runs only nulls the fields it owed: 200 with ``data`` and ``errors``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import ariadne
from cachetools import LRUCache
from graphql import GraphQLError

from mercato.bff.mobile.limits import CheckedQueries, Limits, alias_rule, depth_rule
from mercato.bff.mobile.loaders import Loaders
from mercato.bff.mobile.schema import build_schema
from mercato.bff.mobile.upstream import CallBudget, CallBudgetExceeded, Upstream, UpstreamFailed
from mercato.chassis.logging import get_logger

__all__ = ["Context", "Limits", "MobileGraphQL", "error_entry"]
log = get_logger(__name__)


@dataclass
class Context:
    loaders: Loaders


class _ErrorLog(logging.LoggerAdapter):
    """ariadne logs each error with its stack at ERROR. A failed service (or a refused
    query) is an expected answer here, not a crash: one line at info. Anything else is a
    bug or a malformed answer: logged at error with its stack (the client is told only
    its kind: ``error_entry``)."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger(__name__))

    def error(self, msg: object, *_args: Any, **_kwargs: Any) -> None:
        cause = getattr(msg, "original_error", None)
        message = getattr(msg, "message", str(msg))
        if cause is None or isinstance(cause, UpstreamFailed | GraphQLError):
            log.info("graphql_error", message=message)
        else:
            log.error("graphql_resolver_failed", message=message, exc_info=cause)


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PersistedQueries:
    """Apollo's automatic persisted queries: a client sends the hash; when unknown it is
    told ``PERSISTED_QUERY_NOT_FOUND`` and sends hash and query once, which is kept."""

    def __init__(self, size: int) -> None:
        self._known: LRUCache[str, str] = LRUCache(maxsize=size)

    def query(self, query: str | None, extensions: dict[str, Any] | None) -> str:
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if not query:
                raise PersistedQueryError("BAD_REQUEST", "the request has no query")
            return query
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(digest, str) or persisted.get("version") != 1:
            raise PersistedQueryError("BAD_REQUEST", "persistedQuery needs version 1 and "
                                      "a sha256Hash")
        if query is None:
            if digest not in self._known:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND",
                                          "PersistedQueryNotFound")
            return self._known[digest]
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise PersistedQueryError("BAD_REQUEST", "the sha256Hash is not the query's")
        self._known[digest] = query
        return query


def error_entry(error: GraphQLError, _debug: bool = False) -> dict[str, Any]:
    """ariadne's ``error_formatter``: a failed service named in the entry's extensions
    (``SERVICE_FAILED``, or ``CALL_BUDGET_EXCEEDED`` for a call the budget did not allow);
    any other failure named by kind only, no internals (nor a stack) to the client."""
    entry = error.formatted
    cause = error.original_error
    if isinstance(cause, UpstreamFailed):
        code = "CALL_BUDGET_EXCEEDED" if isinstance(cause, CallBudgetExceeded) \
            else "SERVICE_FAILED"
        entry["message"] = str(cause)
        entry["extensions"] = {**entry.get("extensions", {}), "code": code,
                               "service": cause.service}
    elif cause is not None and not isinstance(cause, GraphQLError):
        # a bug or a malformed answer: named by kind only, no internals to the client
        entry["message"] = f"the field could not be resolved ({type(cause).__name__})"
    return entry


class MobileGraphQL:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.schema = build_schema()
        self.persisted = PersistedQueries(limits.persisted)
        self.checked = CheckedQueries(limits)
        # made once, so that every request validates with the same rules (the cached
        # validation of a query is this instance's)
        self.rules = (depth_rule(limits.depth), alias_rule(limits.aliases))
        self._log = _ErrorLog()

    async def run(self, upstream: Upstream, query: str | None,
                  variables: dict[str, Any] | None, operation: str | None,
                  extensions: dict[str, Any] | None) -> tuple[bool, dict[str, Any]]:
        """(whether it ran, the GraphQL answer)."""
        try:
            text = self.persisted.query(query, extensions)
        except PersistedQueryError as exc:
            return False, {"data": None, "errors": [{"message": str(exc),
                                                     "extensions": {"code": exc.code}}]}
        loaders = Loaders(CallBudget(upstream, self.limits.calls))
        _, result = await ariadne.graphql(
            self.schema, {"query": text, "variables": variables, "operationName": operation},
            context_value=Context(loaders), query_parser=self.checked.parse,
            query_validator=self.checked.validate, validation_rules=self.rules,
            introspection=self.limits.introspection, error_formatter=error_entry,
            logger=self._log, debug=False)
        answer = {"data": result.get("data"), **result}
        return answer["data"] is not None, answer
