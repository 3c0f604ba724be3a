"""What a GraphQL request may cost before it runs: the limits (depth, tokens, aliases,
introspection) and the parse and validation caches that check them once per query text.

The token limit is graphql-core's own (``parse(..., max_tokens=)``); introspection off is
ariadne's rule (``introspection=False``). Depth and aliases are graphql-core
``ValidationRule``\\ s written here: neither graphql-core nor ariadne ships one, and the
strawberry extensions that did are tied to strawberry's schema. Both follow fragment
spreads — a fragment counts wherever it is spread, as if written out there — and each
fragment is measured once (memoized), so a document that spreads fragments into one
another cannot make the check itself exponential."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    parse,
    validate,
)


@dataclass(frozen=True)
class Limits:
    depth: int = 6  # levels of fields below the root ones
    tokens: int = 2000
    aliases: int = 15
    introspection: bool = True
    persisted: int = 1000  # queries kept by hash
    parsed: int = 256  # parsed and validated documents kept by query text
    # service calls one request may make (upstream.CallBudget): enough for the inbox at
    # its largest with each message's order (1 + 50 + a few); not for each of those
    # orders' shipments as well (a screen of fifty orders asks for one list, not fifty)
    calls: int = 64


Measure = Callable[[FieldNode, int], int]  # a field and its selection's measure -> its own


class _Fold:
    """A measure of selection sets, fragment spreads followed and memoized: ``field``
    gives a field's measure from its selection's; a set's measure is ``combine`` of its
    members'. A spread of a fragment already being measured (a cycle, which the spec's
    NoFragmentCyclesRule reports) or unknown (KnownFragmentNamesRule) counts 0."""

    def __init__(self, document: DocumentNode, field: Measure,
                 combine: Callable[[list[int]], int]) -> None:
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.field, self.combine = field, combine
        self.memo: dict[str, int] = {}

    def of(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        parts = []
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                if not node.name.value.startswith("__"):  # introspection is not data
                    parts.append(self.field(node, self.of(node.selection_set)))
            elif isinstance(node, InlineFragmentNode):
                parts.append(self.of(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                parts.append(self._fragment(node.name.value))
        return self.combine(parts) if parts else 0

    def _fragment(self, name: str) -> int:
        if name not in self.memo:
            fragment = self.fragments.get(name)
            self.memo[name] = 0  # while it is measured: a cycle through it adds nothing
            self.memo[name] = self.of(fragment.selection_set) if fragment else 0
        return self.memo[name]


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """Refuses an operation whose fields nest below ``max_depth`` levels under the root
    fields (strawberry's ``QueryDepthLimiter`` counting, and its message)."""

    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            levels = _Fold(self.context.document, lambda _f, below: 1 + below, max)
            if levels.of(node.selection_set) - 1 > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(GraphQLError(
                    f"'{name}' exceeds maximum operation depth of {max_depth}", node))

    return DepthLimit


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    """Refuses a document with more than ``max_aliases`` aliased fields, counted in its
    operations with their fragments written out (strawberry's ``MaxAliasesLimiter``)."""

    class AliasLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            aliases = _Fold(node, lambda f, below: (1 if f.alias else 0) + below, sum)
            found = sum(aliases.of(d.selection_set) for d in node.definitions
                        if isinstance(d, OperationDefinitionNode))
            if found > max_aliases:
                self.report_error(GraphQLError(
                    f"{found} aliases found. Allowed: {max_aliases}"))

    return AliasLimit


class CheckedQueries:
    """ariadne's ``query_parser`` and ``query_validator``, each remembering its answer by
    query text (bounded LRUs): a query the BFF has seen is neither parsed nor validated
    again. graphql-core 3.3's nodes are frozen, so the validation is kept beside its
    document (by id, the document held so that the id cannot be reused) rather than on it.
    One per ``MobileGraphQL``: its rules are that instance's limits."""

    def __init__(self, limits: Limits) -> None:
        self.tokens = limits.tokens
        # "Did you mean 'order'?" would tell the schema that introspection hides
        self.hide_suggestions = not limits.introspection
        self._parsed: LRUCache[str, DocumentNode] = LRUCache(maxsize=limits.parsed)
        self._validated: LRUCache[int, tuple[DocumentNode, list[GraphQLError]]] = \
            LRUCache(maxsize=limits.parsed)

    def parse(self, _context: Any, data: dict[str, Any]) -> DocumentNode:
        text = data["query"]
        document = self._parsed.get(text)
        if document is None:  # a syntax error or too many tokens raises, and is not kept
            document = self._parsed[text] = parse(text, max_tokens=self.tokens)
        return document

    def validate(self, schema: GraphQLSchema, document: DocumentNode, rules: Any = None,
                 max_errors: int | None = None, **_: Any) -> list[GraphQLError]:
        kept = self._validated.get(id(document))
        if kept is not None and kept[0] is document:
            return kept[1]
        errors = validate(schema, document, rules, max_errors,
                          hide_suggestions=self.hide_suggestions)
        self._validated[id(document)] = (document, errors)
        return errors
