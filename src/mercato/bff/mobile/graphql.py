"""Running one GraphQL request: persisted queries (Apollo's ``extensions.persistedQuery``
by SHA-256, kept in a bounded in-memory registry), the limits (depth, tokens, aliases),
introspection off in production, and each error entry naming the service that failed.

A request refused before it runs (syntax, validation, depth, an unknown persisted query)
has no ``data``; ``MobileGraphQL.run`` reports it so the route answers 400. A service
that fails while it runs only nulls the fields it owed: 200 with ``data`` and ``errors``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import strawberry
from cachetools import LRUCache
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from mercato.bff.mobile.loaders import Loaders
from mercato.bff.mobile.schema import Query
from mercato.bff.mobile.upstream import Upstream, UpstreamFailed
from mercato.chassis.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Limits:
    depth: int = 6
    tokens: int = 2000
    aliases: int = 15
    introspection: bool = True
    persisted: int = 1000  # queries kept by hash
    parsed: int = 256  # parsed documents kept by query text


@dataclass
class Context:
    loaders: Loaders


class _Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # A failed service is an expected answer here, not a crash to log with its stack.
        for error in errors:
            log.info("graphql_error", message=error.message)


def build_schema(limits: Limits) -> strawberry.Schema:
    # Factories: each request gets fresh extensions (strawberry's advice). The depth and
    # alias rules are made once and shared, so that a query's validation is cached with
    # them (a rule class made per request would never hit); the parser's and validator's
    # caches are strawberry's, shared by every instance of a size. Validation was two
    # thirds of a query's CPU before (benchmarks/bench_graphql.py).
    rules = [*QueryDepthLimiter(max_depth=limits.depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=limits.aliases).validation_rules]
    extensions: list[Any] = [lambda: MaxTokensLimiter(max_token_count=limits.tokens),
                             lambda: ParserCache(maxsize=limits.parsed),
                             lambda: AddValidationRules(rules),
                             lambda: ValidationCache(maxsize=limits.parsed)]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return _Schema(query=Query, extensions=extensions)


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


def error_entry(error: GraphQLError) -> dict[str, Any]:
    entry = error.formatted
    cause = error.original_error
    if isinstance(cause, UpstreamFailed):
        entry["message"] = str(cause)
        entry["extensions"] = {**entry.get("extensions", {}), "code": "SERVICE_FAILED",
                               "service": cause.service}
    elif cause is not None and not isinstance(cause, GraphQLError):
        # a bug or a malformed answer: named by kind only, no internals to the client
        entry["message"] = f"the field could not be resolved ({type(cause).__name__})"
    return entry


class MobileGraphQL:
    def __init__(self, limits: Limits) -> None:
        self.schema = build_schema(limits)
        self.persisted = PersistedQueries(limits.persisted)

    async def run(self, upstream: Upstream, query: str | None,
                  variables: dict[str, Any] | None, operation: str | None,
                  extensions: dict[str, Any] | None) -> tuple[bool, dict[str, Any]]:
        """(whether it ran, the GraphQL answer)."""
        try:
            text = self.persisted.query(query, extensions)
        except PersistedQueryError as exc:
            return False, {"data": None, "errors": [{"message": str(exc),
                                                     "extensions": {"code": exc.code}}]}
        result = await self.schema.execute(text, variable_values=variables,
                                           operation_name=operation,
                                           context_value=Context(Loaders(upstream)))
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error_entry(e) for e in result.errors]
        return result.data is not None, answer
